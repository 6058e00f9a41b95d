"""Occlusion sensitivity (`python -m inference sensitivity`): which image regions change which joints.

A grey square slides over one person's crop in one frame; every occluded image goes through the very path
`python -m inference estimate --bbox ...` takes on that image, and each joint's pelvis-aligned change against
the unoccluded estimate is recorded (the map), then carried onto the body vertices the square covers (the
mesh). `occluder` places and paints the square, `occluded_estimates` runs the estimator, `joint_errors` and
`mesh_map` measure, `image_map` draws the PNGs, `job` does the whole job and `command` is its command line.
"""
