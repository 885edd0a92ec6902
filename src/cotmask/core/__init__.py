"""The cotmask runtime: numpy + xarray (+ onnxruntime when installed).

``bands``, ``context``, ``checks``, ``onnx_numpy``, ``model`` and ``cube`` are what the generated cloud-mask UDFs
inline (the shadow UDF inlines ``bands`` alone); ``shipped`` and ``reflectance`` are the package API on the
shipped model files. Nothing here imports the harness, the training code or the generator.
"""
