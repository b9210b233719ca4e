"""python -m mmdemo.evaluate <task> ...  — prints one JSON object of metrics on stdout.

Progress goes to stderr so that stdout stays machine-readable. One sub-command per task.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from mmdemo.data.medvidqa import load_medvidqa_corpus, load_off_topic, load_questions
from mmdemo.errors import InputError
from mmdemo.metrics import mrr, rank_k_iou, recall_at_k
from mmdemo.retrieval.ccgs_search import CCGSSearchConfig
from mmdemo.retrieval.corpus_index import METHODS, Candidate, CorpusIndex, RetrievalConfig
from mmdemo.retrieval.span_qa_search import SpanQASearchConfig

RANK_KS = (1, 10, 100)
CANDIDATE_VIDEOS = 20  # videos searched for spans; 20 x 10 spans covers Rank@100
SPANS_PER_VIDEO = 10


# A method answers a question with every corpus video ranked best first and its spans best first.
Answerer = Callable[[str], tuple[list[str], list[Candidate]]]


def zero_shot_answerer(index: CorpusIndex, method: str) -> Answerer:
    def answer(question: str) -> tuple[list[str], list[Candidate]]:
        ranked = [vid for vid, _ in index.rank_videos(question, method)]
        return ranked, index.locate(question, method, top_videos=CANDIDATE_VIDEOS, top_spans=SPANS_PER_VIDEO)

    return answer


def ccgs_answerer(index: CorpusIndex, checkpoint: str | Path, top_videos: int, ccgs_weight: float) -> Answerer:
    from mmdemo.models.factory import CCGS_FAMILY, load_model
    from mmdemo.retrieval.ccgs_search import CCGSSearch

    config = CCGSSearchConfig(top_videos=top_videos, ccgs_weight=ccgs_weight)
    search = CCGSSearch(index, load_model(checkpoint, CCGS_FAMILY), method="hybrid", config=config)

    def answer(question: str) -> tuple[list[str], list[Candidate]]:
        result = search.answer(question, top_spans=SPANS_PER_VIDEO * top_videos)
        return result.videos, result.candidates

    return answer


def span_qa_answerer(index: CorpusIndex, checkpoint: str | Path, top_videos: int, reader_weight: float) -> Answerer:
    """The CCGS paper's text-only "Span-Base" pipeline: hybrid first stage, a span QA reader on its top videos."""
    from mmdemo.models.factory import SPAN_QA, load_model
    from mmdemo.retrieval.span_qa_search import SpanQASearch

    config = SpanQASearchConfig(top_videos=top_videos, reader_weight=reader_weight)
    search = SpanQASearch(index, load_model(checkpoint, SPAN_QA), method="hybrid", config=config)

    def answer(question: str) -> tuple[list[str], list[Candidate]]:
        result = search.answer(question, top_spans=max(RANK_KS))
        return result.videos, result.candidates

    return answer


def refused_share(answer: Answerer, questions: Sequence[str], refuse_below: float) -> float | None:
    """Percent of ``questions`` whose best candidate is below the refusal threshold; None without probabilities."""
    tops = [answer(q)[1][:1] for q in questions]
    if not questions or any(not top or top[0].probability is None for top in tops):
        return None
    return 100.0 * sum(top[0].probability < refuse_below for top in tops) / len(questions)


def evaluate_medvidqa(questions: Sequence[dict], known: set[str], answer: Answerer, method: str, progress=None,
                      refuse_below: float | None = None, off_topic: Sequence[str] = ()) -> dict:
    """Video retrieval and answer localisation over the whole corpus for every answerable question.

    With ``refuse_below``: also the share of these questions the app would refuse ("refused", false
    refusals) and of ``off_topic`` questions it refuses ("off_topic_refused"). Refusal never changes
    the 16 metrics: a refused question is scored on the span it would have shown.
    """
    questions = [q for q in questions if q["video_id"] in known]
    ranks, predictions, golds, refused = [], [], [], []
    for i, q in enumerate(questions):
        ranked, candidates = answer(q["question"])
        if refuse_below is not None and candidates and candidates[0].probability is not None:
            refused.append(candidates[0].probability < refuse_below)
        ranks.append(ranked.index(q["video_id"]) + 1)
        predictions.append([(c.video_id, c.start, c.end) for c in candidates])
        golds.append((q["video_id"], float(q["answer_start_second"]), float(q["answer_end_second"])))
        if progress is not None:
            progress(i + 1, len(questions))
    metrics: dict = {"n": len(questions), "method": method}
    for k in (1, 5, 10):
        metrics[f"R@{k}"] = recall_at_k(ranks, k)
    metrics["MRR"] = mrr(ranks)
    for k in RANK_KS:
        for name, value in rank_k_iou(predictions, golds, k).items():
            metrics[f"Rank@{k} {name}"] = value
    if refuse_below is not None and refused and len(refused) == len(questions):
        metrics["refuse_below"] = refuse_below
        metrics["refused"] = 100.0 * float(np.mean(refused))
        if off_topic:
            metrics["off_topic_n"] = len(off_topic)
            metrics["off_topic_refused"] = refused_share(answer, off_topic, refuse_below)
    return metrics


def _stderr_progress(done: int, total: int) -> None:
    if done == total or done % 10 == 0:
        print(f"\r{done}/{total} questions", end="\n" if done == total else "", file=sys.stderr, flush=True)


def _run_medvidqa(args: argparse.Namespace) -> dict:
    from mmdemo.config import set_offline_environment

    set_offline_environment()
    videos = load_medvidqa_corpus(args.subtitles)
    if args.method in ("ccgs", "span-qa") and not args.checkpoint:
        raise InputError(f"--method {args.method} needs --checkpoint DIR (a {'CCGS' if args.method == 'ccgs' else 'span QA'} export)")
    encoder = None
    if args.method != "bm25":
        from mmdemo.models.encoders import TextEncoder, TextEncoderConfig

        encoder = TextEncoder.from_config(TextEncoderConfig(name=args.text_encoder))
    print(f"indexing {len(videos)} videos ...", file=sys.stderr, flush=True)
    index = CorpusIndex.build(videos, encoder, RetrievalConfig())
    if args.method == "ccgs":
        answer = ccgs_answerer(index, args.checkpoint, args.candidates, args.ccgs_weight)
    elif args.method == "span-qa":
        answer = span_qa_answerer(index, args.checkpoint, args.candidates, args.reader_weight)
    else:
        answer = zero_shot_answerer(index, args.method)
    off_topic = load_off_topic(args.off_topic) if args.off_topic else ()
    refuse_below = index.config.calibration.refuse_below if encoder is not None else None
    return evaluate_medvidqa(load_questions(args.questions), set(index.video_ids), answer, args.method,
                             progress=_stderr_progress, refuse_below=refuse_below, off_topic=off_topic)


def _run_extractive_qa(args: argparse.Namespace) -> dict:
    """SQuAD exact match and F1 of a span QA export on a SQuAD v1.1/v2.0 file (the paper's table 5 metrics);
    the reader answers every question over its whole context, and for v2.0 "no answer" competes.
    Beside it, in the same run, the trivial baseline ``overlap_sentence`` on the same questions."""
    from mmdemo.config import set_offline_environment
    from mmdemo.data.squad import load_squad
    from mmdemo.metrics import squad_scores
    from mmdemo.models.factory import SPAN_QA, load_model

    set_offline_environment()
    squad = load_squad(args.squad, args.max_shift)
    examples = squad.examples
    if 0 < args.questions < len(examples):  # a seeded sample, in file order, for CPU budgets
        examples = [examples[i] for i in sorted(random.Random(args.seed).sample(range(len(examples)), args.questions))]
    reader = load_model(args.checkpoint, SPAN_QA).to(args.device)
    v2 = any(e.is_impossible for e in examples)
    predictions = []
    for e in examples:
        predictions.append(reader.answer(e.question, e.context, top_k=1, allow_null=v2)[0].text)
        _stderr_progress(len(predictions), len(examples))
    golds = [[a.text for a in e.answers] for e in examples]
    baseline = squad_scores([overlap_sentence(e.question, e.context) for e in examples], golds)
    return {"n": len(examples), "of": len(squad.examples), **squad_scores(predictions, golds),
            "baseline": {"method": "the context sentence sharing most words with the question",
                         **{name: round(value, 2) for name, value in baseline.items()}},
            "answer_start_repaired": len(squad.repaired), "questions_dropped": len(squad.dropped)}


SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
STOP_WORDS = frozenset("a an the of in on at to for by with from and or is are was were be been what which who whom "
                       "how why when where does do did can could would should will has have had this that these those "
                       "it its as into than".split())


def overlap_sentence(question: str, context: str) -> str:
    """The trivial reader: the first sentence of ``context`` holding the most distinct content words
    of the question (after SQuAD normalisation, stop words aside)."""
    from mmdemo.metrics import normalize_answer

    asked = set(normalize_answer(question).split()) - STOP_WORDS
    sentences = [s for s in SENTENCE_END.split(context) if s.strip()] or [context]
    return max(sentences, key=lambda s: len(asked & set(normalize_answer(s).split())))


def _run_audio_retrieval(args: argparse.Namespace) -> dict:
    """Text-to-audio and audio-to-text retrieval over one Clotho-layout split (CP-JKU section 2.6)."""
    from tqdm import tqdm

    from mmdemo.config import set_offline_environment
    from mmdemo.data.clotho import read_clotho
    from mmdemo.metrics import cross_modal_retrieval
    from mmdemo.pipelines.audio_retriever import AudioTextRetriever

    set_offline_environment()
    items = read_clotho(args.data, args.split)
    retriever = AudioTextRetriever.load(args.checkpoint, device=args.device)
    audio = [retriever.embed_audio_file(item.audio_path) for item in tqdm(items, desc="embedding audio", file=sys.stderr)]
    captions = [(i, caption) for i, item in enumerate(items) for caption in item.captions]
    text = retriever.embed_texts([caption for _, caption in captions])
    owners = [i for i, _ in captions]
    metrics = cross_modal_retrieval(text @ np.stack(audio).T, owners)
    # The floor to read them against, on the same queries: random rankings (mean of 100 seeded draws).
    rng = np.random.default_rng(0)
    draws = [cross_modal_retrieval(rng.random((len(captions), len(items))), owners) for _ in range(100)]
    random_ranking = {key: round(float(np.mean([d[key] for d in draws])), 2) for key in draws[0]}
    return {**metrics, "recordings": len(items), "captions": len(captions), "random_ranking": random_ranking}


def _run_scene(args: argparse.Namespace) -> dict:
    """Scene classification on one TAU-layout split: log-loss and accuracy per model, fused, and
    fused + post-processing (Okazaki et al., Tables 2 and 4), with the set's fitted ensemble."""
    from mmdemo.config import Settings, set_offline_environment
    from mmdemo.data.tau import read_tau
    from mmdemo.frame_features import SCENE_FEATURES_DIR
    from mmdemo.models.scene_ensemble import run_ensemble, stage_metrics
    from mmdemo.pipelines.classify_scene import ENSEMBLE_FILE, SceneClassifier

    set_offline_environment()
    classifier = SceneClassifier.from_dir(args.checkpoints, Settings(device=args.device))
    items = read_tau(args.data, args.split, args.fold, classifier.classes).items
    features = args.features or (Path(args.data) / SCENE_FEATURES_DIR)

    def progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            print(f"\r{done}/{total} clips", end="\n" if done == total else "", file=sys.stderr, flush=True)

    probs, labels = classifier.predict_split(items, features if features.is_dir() else None, progress)
    rows = stage_metrics(probs, run_ensemble(probs, classifier.classes, classifier.ensemble_config()), labels)
    fitted_path = Path(args.checkpoints) / ENSEMBLE_FILE
    fitted = json.loads(fitted_path.read_text(encoding="utf-8")).get("fitted", {}) if fitted_path.is_file() else {}
    metrics = {"split": args.split, "clips": len(items),
               "stages": {stage: {name: round(value, 4) for name, value in row.items()} for stage, row in rows.items()},
               "fused_beats_every_model": all(rows["fused"]["accuracy"] > rows[m]["accuracy"] for m in probs),
               "ensemble_fitted_on": f"{fitted['data']} ({fitted['split']})" if fitted else "nothing: no ensemble.json"}
    if fitted and Path(fitted["data"]) == Path(args.data).resolve() and fitted["split"] == args.split:
        metrics["warning"] = "the ensemble was fitted on this very split: these figures are not held-out"
    for name in args.zero_shot or ():
        metrics["stages"][f"zero-shot {name}"] = _zero_shot_scene(items, classifier.classes, name, args.zero_shot_pretrained)
    return metrics


def _zero_shot_scene(items, classes, model: str, pretrained: str) -> dict[str, float]:
    """Table 2 C01-C03: zero-shot CLIP from class-name prompts, over each clip's section 2.2 frames.

    Reported beside the trained models, never fused with them. With random weights (offline)
    it sits at chance; ``--zero-shot-pretrained openai`` gives the paper's.
    """
    from mmdemo.frame_features import read_scene_frames
    from mmdemo.metrics import accuracy, log_loss
    from mmdemo.models.scene import ZeroShotCLIP, ZeroShotConfig

    zero_shot = ZeroShotCLIP.from_config(ZeroShotConfig(model=model, pretrained=pretrained), classes)
    size = zero_shot.image_encoder.image_size
    probs = np.stack([zero_shot.classify_frames(read_scene_frames(item.video, size=size)[0]) for item in items])
    labels = [item.label_index for item in items]
    return {"log_loss": round(log_loss(probs, labels), 4), "accuracy": round(accuracy(probs, labels), 4)}


def _run_caption(args: argparse.Namespace) -> dict:
    """Captions for every clip of one split of an MSRVTT-layout folder (``annotations.json``,
    ``transcripts.json``, cached ``features/``), scored against all of each clip's references
    with coco-caption's metrics (MELTR Tables 4 and 8: BLEU-3/4, ROUGE-L, CIDEr-D), and METEOR as an
    exact-match approximation that is not coco-caption's METEOR 1.5 (``mmdemo.metrics.captioning.meteor``)."""
    from mmdemo.checkpoint import META_FILE
    from mmdemo.config import set_offline_environment
    from mmdemo.data.caption_annotations import read_msrvtt, read_transcripts
    from mmdemo.frame_features import load_frame_features
    from mmdemo.metrics.captioning import caption_scores
    from mmdemo.models.factory import CAPTIONER, load_model

    set_offline_environment()
    data = Path(args.data)
    clips = read_msrvtt(data / "annotations.json", [args.split])
    if not clips:
        raise InputError(f"{data / 'annotations.json'} has no {args.split!r} clips")
    model = load_model(args.checkpoint, CAPTIONER).to(args.device).eval()  # refuses anything but a captioner export
    meta = json.loads((Path(args.checkpoint) / META_FILE).read_text(encoding="utf-8"))
    mode = args.mode or meta.get("mode", "V")
    max_length = args.max_length or meta.get("config", {}).get("task", {}).get("max_length") or None
    transcripts = read_transcripts(data / "transcripts.json") if mode == "V+T" else {}
    trained_on = meta.get("features", {}).get("model")
    features = []
    for clip in clips:
        path = Path(args.features or data / "features") / f"{clip.video_id}.safetensors"
        if not path.is_file():
            raise InputError(f"{path} is missing: run python -m mmdemo.frame_features --videos {data}/videos "
                             f"--out {path.parent} with the captioner's settings {meta.get('features', {})}")
        frames, _, settings = load_frame_features(path)
        if trained_on and settings.get("model") != trained_on:
            raise InputError(f"{path} holds {settings.get('model')} frame features; the captioner was trained on {trained_on}")
        features.append(frames)
    candidates = []
    for start in range(0, len(clips), args.batch_size):
        batch = clips[start:start + args.batch_size]
        texts = [transcripts.get(clip.video_id, "") for clip in batch] if mode == "V+T" else None
        beams = model.caption(features[start:start + args.batch_size], texts, beam_size=args.beam, max_length=max_length)
        candidates += [video[0][0] for video in beams]
        print(f"\r{len(candidates)}/{len(clips)} clips", end="\n" if len(candidates) == len(clips) else "",
              file=sys.stderr, flush=True)
    scores = caption_scores(candidates, [clip.captions for clip in clips])
    return {"split": args.split, "clips": len(clips), "mode": mode, "beam": args.beam,
            **{name: scores[name] for name in ("BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")}}


def _run_segmentation(args: argparse.Namespace) -> dict:
    """Semantic segmentation on one Cityscapes-layout split: mIoU and IoU per class in percent,
    from one confusion matrix over every labelled pixel, each frame scored at its own size
    ("pretrained vs scratch", Table 4). A class in neither the labels nor the predictions is null."""
    from mmdemo.data.cityscapes import TRAIN_CLASSES, read_cityscapes, read_pair
    from mmdemo.metrics import class_iou, confusion_matrix, mean_iou
    from mmdemo.models.factory import SEGMENTATION, load_model

    items = read_cityscapes(args.data, args.split)
    model = load_model(args.checkpoint, SEGMENTATION).to(args.device)  # refuses anything but a segmentation export
    confusion = np.zeros((len(TRAIN_CLASSES), len(TRAIN_CLASSES)), np.int64)
    for done, item in enumerate(items, 1):
        image, gold = read_pair(item)
        confusion += confusion_matrix(gold, model.predict(image[None])[0], len(TRAIN_CLASSES))
        if done == len(items) or done % 10 == 0:
            print(f"\r{done}/{len(items)} frames", end="\n" if done == len(items) else "", file=sys.stderr, flush=True)
    iou = class_iou(confusion)
    return {"split": args.split, "frames": len(items), "mIoU": mean_iou(confusion),
            "per_class": {name: None if np.isnan(value) else round(float(value), 2) for name, value in zip(TRAIN_CLASSES, iou)}}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mmdemo.evaluate", description=__doc__.splitlines()[0])
    tasks = parser.add_subparsers(dest="task", required=True)
    med = tasks.add_parser("medvidqa", help="video corpus retrieval + answer localisation on MedVidQA captions")
    med.add_argument("--questions", required=True, help="MedVidQA questions JSON (list of records)")
    med.add_argument("--subtitles", required=True, action="append", help="folder of <video_id>.json captions; repeatable")
    med.add_argument("--method", choices=(*METHODS, "ccgs", "span-qa"), default="hybrid",
                     help="zero-shot bm25|dense|hybrid; ccgs or span-qa: hybrid first stage, then a CCGS or span QA checkpoint")
    med.add_argument("--checkpoint", help="CCGS or span QA export directory (for --method ccgs / span-qa)")
    med.add_argument("--candidates", type=int, default=CCGSSearchConfig.top_videos,
                     help="videos CCGS or the span QA reader reads per question (K)")
    med.add_argument("--ccgs-weight", type=float, default=CCGSSearchConfig.ccgs_weight,
                     help="weight of CCGS's video score against the first stage's when reordering the K")
    med.add_argument("--reader-weight", type=float, default=SpanQASearchConfig.reader_weight,
                     help="the same for the span QA reader's best span score (--method span-qa)")
    med.add_argument("--text-encoder", default="minilm", help='"minilm" (bundled) or a Hugging Face model id')
    med.add_argument("--off-topic", type=Path,
                     help="also report how many of these questions are refused (assets/questions/off_topic.json)")
    med.set_defaults(run=_run_medvidqa)
    qa = tasks.add_parser("extractive-qa", help="SQuAD exact match and F1 of a span QA reader")
    qa.add_argument("--squad", required=True, type=Path, help="SQuAD v1.1 or v2.0 JSON file")
    qa.add_argument("--checkpoint", required=True, help="span QA export (python -m training extractive-qa)")
    qa.add_argument("--max-shift", type=int, default=0,
                    help="repair an answer_start off by up to this many characters (COVID-QA: 100); 0 refuses such a file")
    qa.add_argument("--questions", type=int, default=0,
                    help="score a seeded sample of this many questions (0 = all); both reader and baseline see the same")
    qa.add_argument("--seed", type=int, default=0, help="which questions --questions samples")
    qa.add_argument("--device", default="cpu")
    qa.set_defaults(run=_run_extractive_qa)
    audio = tasks.add_parser("audio-retrieval", help="text-to-audio and audio-to-text retrieval on a Clotho-layout split")
    audio.add_argument("--data", required=True, help="folder in the Clotho v2 layout (clotho_captions_<split>.csv + <split>/)")
    audio.add_argument("--split", default="evaluation", help="split to evaluate (development, validation, evaluation)")
    audio.add_argument("--checkpoint", required=True, help="dual encoder export (python -m training audio-retrieval)")
    audio.add_argument("--device", default="cpu")
    audio.set_defaults(run=_run_audio_retrieval)
    scene = tasks.add_parser("scene", help="scene classification: log-loss and accuracy per model, fused, fused + post")
    scene.add_argument("--data", required=True, type=Path, help="folder in the TAU Audio-Visual Scenes 2021 layout")
    scene.add_argument("--checkpoints", required=True, type=Path,
                       help="checkpoint set: audio/, frames/, fusion/ exports and ensemble.json")
    scene.add_argument("--split", default="evaluate", choices=("train", "evaluate"), help="fold split to score")
    scene.add_argument("--fold", type=int, default=1)
    scene.add_argument("--features", type=Path, help="cached CLIP features (default DATA/clip_features when present)")
    scene.add_argument("--device", default="cpu")
    scene.add_argument("--zero-shot", nargs="*", metavar="MODEL",
                       help="also score zero-shot CLIP with these open_clip models (Table 2 C01-C03: RN101 RN50x4 ViT-B-32)")
    scene.add_argument("--zero-shot-pretrained", default="", help='open_clip tag for them, e.g. "openai"; "" = random')
    scene.set_defaults(run=_run_scene)
    cap = tasks.add_parser("caption", help="video captioning: BLEU-3/4, METEOR (exact matches only), ROUGE-L, CIDEr on an MSRVTT-layout split")
    cap.add_argument("--data", required=True, type=Path,
                     help="folder with annotations.json, transcripts.json and features/ (python -m training caption's --data)")
    cap.add_argument("--split", default="val", help="split to caption and score (train, val, test)")
    cap.add_argument("--checkpoint", required=True, type=Path, help="captioner export (python -m training caption)")
    cap.add_argument("--beam", type=int, default=1, help="beam size; 1 decodes greedily (as the trainer's validation)")
    cap.add_argument("--mode", choices=("V", "V+T"), help="video only or video + transcript (default: the export's)")
    cap.add_argument("--features", type=Path, help="cached frame features (default DATA/features)")
    cap.add_argument("--max-length", type=int, help="caption tokens at most (default: the trainer's task.max_length)")
    cap.add_argument("--batch-size", type=int, default=16, help="clips captioned at once")
    cap.add_argument("--device", default="cpu")
    cap.set_defaults(run=_run_caption)
    seg = tasks.add_parser("segmentation", help="semantic segmentation: mIoU and IoU per class on a Cityscapes-layout split")
    seg.add_argument("--data", required=True, type=Path, help="folder in the Cityscapes layout (leftImg8bit/, gtFine/)")
    seg.add_argument("--split", default="val", help="split to score (train, val, test)")
    seg.add_argument("--checkpoint", required=True, type=Path, help="segmentation export (python -m training segmentation)")
    seg.add_argument("--device", default="cpu")
    seg.set_defaults(run=_run_segmentation)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        metrics = args.run(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in metrics.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
