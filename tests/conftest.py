"""Suite-wide set-up: every test runs offline, as the app does."""

from mmdemo.config import set_offline_environment

set_offline_environment()
