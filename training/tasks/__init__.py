"""The task registry: ``python -m training <name>`` looks the name up here.

Each entry is ``"module:Class"``, imported only when that task runs, so a task's heavy
dependencies never slow down (or break) the others. To add a task, write
``training/tasks/<module>.py`` with a :class:`training.task.Task` subclass and add a line.
"""

from __future__ import annotations

import importlib

TASKS: dict[str, str] = {
    "toy": "training.tasks.toy:ToyTask",  # synthetic classification; for tests and smoke runs
    "ccgs": "training.tasks.ccgs:CCGSTask",
    "audio-retrieval": "training.tasks.audio_retrieval:AudioRetrievalTask",
    "scene": "training.tasks.scene:SceneTask",
    "caption": "training.tasks.caption:CaptionTask",
    "extractive-qa": "training.tasks.extractive_qa:ExtractiveQATask",
    "segmentation": "training.tasks.segmentation:SegmentationTask",
}


def get_task(name: str) -> type:
    """The Task subclass registered as ``name``; a clear error if unknown or not written yet."""
    if name not in TASKS:
        raise KeyError(f"Unknown task {name!r}; the tasks are: {', '.join(TASKS)}.")
    module_name, class_name = TASKS[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            path = module_name.replace(".", "/") + ".py"
            raise KeyError(f"Task {name!r} is registered but {path} does not exist yet.") from None
        raise
    return getattr(module, class_name)
