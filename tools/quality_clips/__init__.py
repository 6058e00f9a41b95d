"""Makes the motion-quality benchmark's ground-truth clips (tools/make_quality_clips.py)."""
