"""Training: the synthetic generator (``synth``), the numpy MLP, the pipeline that builds the shipped models, ONNX
export, float16 copies, the SMHI reader and the evaluation metrics. Never imported by the UDFs or graphs."""
