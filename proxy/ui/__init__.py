"""The live page of the steering decisions (``GET /ui``) and the JSON routes it reads."""
