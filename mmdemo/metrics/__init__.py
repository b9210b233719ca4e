"""Every evaluation metric, one module per kind; rates are in percent, as the papers report them.

retrieval (R@k, MRR, mAP@10), localization (temporal IoU, Rank@k IoU, mIoU), qa (SQuAD EM/F1),
captioning (BLEU, METEOR, ROUGE-L, CIDEr-D), classification (log-loss, accuracy, F1 per class),
segmentation (IoU per class, mIoU), speech (WER). ``from mmdemo.metrics import X`` finds any of them.
"""

from mmdemo.metrics.captioning import bleu, caption_scores, cider_d, meteor, rouge_l
from mmdemo.metrics.classification import accuracy, log_loss, per_class_f1
from mmdemo.metrics.localization import IOU_THRESHOLDS, Span, best_iou, iou_summary, rank_k_iou, temporal_iou
from mmdemo.metrics.qa import exact_match, f1_score, normalize_answer, squad_scores
from mmdemo.metrics.retrieval import average_precision_at_k, cross_modal_retrieval, mrr, recall_at_k
from mmdemo.metrics.segmentation import class_iou, confusion_matrix, mean_iou
from mmdemo.metrics.speech import word_error_rate

__all__ = [
    "IOU_THRESHOLDS", "Span", "accuracy", "average_precision_at_k", "best_iou", "bleu", "caption_scores",
    "cider_d", "class_iou", "confusion_matrix", "cross_modal_retrieval", "exact_match", "f1_score",
    "iou_summary", "log_loss", "mean_iou", "meteor", "mrr", "normalize_answer", "per_class_f1", "rank_k_iou",
    "recall_at_k", "rouge_l", "squad_scores", "temporal_iou", "word_error_rate",
]
