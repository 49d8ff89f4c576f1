"""Libraries the integration ships in its own folder (HACS installs only this folder).

Nothing here imports Home Assistant or the rest of the integration, so the tests and the bench
import them by their own names with this folder on the path.
"""
