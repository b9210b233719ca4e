"""The README's two set-up commands are the contract CI and newcomers rely on."""

import re

from mmdemo.config import REPO_ROOT


def setup_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text  # skip the Spaces front matter
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", body, flags=re.S)[:2]


def test_readme_starts_with_run_and_test_commands():
    run_app, run_tests = setup_commands()
    assert run_app.strip() == "pip install -r requirements.txt -e . && python app.py"  # the run lock
    assert run_tests.strip() == "pip install -r requirements-test.txt -e . && pytest"  # the test lock


def test_ci_runs_the_readme_test_command_word_for_word():
    _, run_tests = setup_commands()
    ci_script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert run_tests.strip() in ci_script
    venv = next(i for i, line in enumerate(ci_script) if "-m venv" in line)
    assert venv < ci_script.index(run_tests.strip())  # in a new virtual environment, every run


def test_spaces_front_matter_points_at_the_app():
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    front_matter = text.split("---\n")[1]
    assert "sdk: gradio" in front_matter and "app_file: app.py" in front_matter
    assert re.search(r"python_version: \"?3\.11", front_matter)
