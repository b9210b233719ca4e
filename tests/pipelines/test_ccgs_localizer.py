"""With a CCGS export under the checkpoint root, the locator answers with CCGS over the first stage's top K."""

from __future__ import annotations

import numpy as np
import pytest

from mmdemo.checkpoint import save_checkpoint
from mmdemo.config import Settings
from mmdemo.models.ccgs import CCGS, CCGSConfig
from mmdemo.models.factory import CCGS_FAMILY
from mmdemo.pipelines.locate_answer import CCGS_DIR, AnswerLocator
from mmdemo.ui.plots import span_matrix_figure


@pytest.fixture(scope="module")
def ccgs_locator(tmp_path_factory) -> AnswerLocator:
    root = tmp_path_factory.mktemp("checkpoints")
    config = CCGSConfig(use_visual=False, plm_layers=1, train_plm_layers=0, hidden=32)
    model = CCGS.from_config(config, pretrained=True)
    save_checkpoint(root / CCGS_DIR, model.trained_state_dict(), family=CCGS_FAMILY, config=config, meta={"task": "ccgs"})
    return AnswerLocator.load(Settings(checkpoints_dir=root))


@pytest.mark.slow
def test_ccgs_answers_with_distinct_spans_and_a_span_matrix(ccgs_locator, tmp_path):
    assert ccgs_locator.describe()["localizer"] == "ccgs" and "CCGS" in ccgs_locator.answered_by()["method"]
    result = ccgs_locator.run("How do I do a chin tuck for neck pain?", top_k=4, per_video=4, work_dir=tmp_path)
    shortlist = {c["video_id"] for c in result.candidates}
    assert len(result.candidates) == 4 and len(shortlist) <= 5
    spans = [(c["video_id"], c["start"], c["end"]) for c in result.candidates]
    assert len(set(spans)) == len(spans)  # near copies are suppressed
    matrix = result.span_matrix
    captions = ccgs_locator.corpus_index().videos[[v.video_id for v in ccgs_locator.corpus_index().videos].index(result.video_id)].captions
    assert len(matrix["scores"]) == len(captions) == len(matrix["starts"])
    # impossible spans (end before start) are -inf, possible ones have scores
    assert matrix["scores"][1][0] == float("-inf") and np.isfinite(matrix["scores"][0][1])
    assert result.playback is not None and result.playback.path.is_file()
    assert span_matrix_figure(matrix, (result.start, result.end)) is not None
