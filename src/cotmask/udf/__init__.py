"""The generated openEO UDFs: one entry module per UDF file (``cotmask_*_udf.py``, named after it), the algorithms
they inline (``shadow``, ``best_pixel``, ``classes``) and the builder (``build``) that writes udf/*.py."""
