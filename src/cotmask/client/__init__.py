"""Client-side helpers: what the scripts in client_examples/ share (``examples``) and the scene-screening result as
a table (``screening_table``)."""
