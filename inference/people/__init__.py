"""People in frames: the bundled person detector and the online multi-person tracker."""
