"""The generator of the project's license-free stand-in body (see tools/make_standin_body.py)."""
