"""Benchmark Chatterbox against wyoming-faster-whisper and wyoming-piper (run scripts/bench).

The bench talks Wyoming through the integration's client core, ``chatterbox_wyoming``, by its
own name: importing it as ``custom_components.chatterbox...`` would start the integration's
package, which needs Home Assistant. Its folder (the integration's ``lib``) is appended to
``sys.path`` here, where every way in (``python -m bench``, ``python -m bench.load``,
``import bench``) passes.
"""

import sys
from pathlib import Path

_CORE_HOME = str(Path(__file__).resolve().parents[1] / "custom_components" / "chatterbox" / "lib")
if _CORE_HOME not in sys.path:
    sys.path.append(_CORE_HOME)
