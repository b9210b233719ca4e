"""mmdemo: multimodal video understanding, served by one library that the app and the trainers share."""

__version__ = "0.1.0"
