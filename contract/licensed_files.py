"""Where users get the licensed files the project never ships: said once, quoted by every message that
asks for one of them (CLI, batch and the add-on's panel and preferences)."""

GET_SMPL = ("Get SMPL from https://smpl.is.tue.mpg.de (free registration; download \"SMPL for Python\" and "
            "use SMPL_NEUTRAL.pkl or basicModel_neutral_lbs_10_207_0_v1.0.0.pkl).")
GET_PARE = ("Use an official PARE checkpoint (pare_checkpoint.ckpt or pare_w_3dpw_checkpoint.ckpt), linked "
            "from the README of the PARE project on GitHub (https://github.com/mkocabas/PARE).")
