"""Stage 1 of p3: mass detection on full mammograms.

* :mod:`~mammorepro.detection.boxes`: boxes from lesion masks, scaling, IoU;
* :mod:`~mammorepro.detection.anchors`: k-means anchors (YOLOv2/v3, 1 - IoU distance);
* :mod:`~mammorepro.detection.yolo`: the YOLOv3 detector (Darknet-53, three scales), its
  target assignment, loss and decoding;
* :mod:`~mammorepro.detection.train`: multi-scale training and prediction;
* :mod:`~mammorepro.detection.msf`: the multi-scale fusion of Yan et al. (eq. 1);
* :mod:`~mammorepro.detection.evaluation`: AP, FROC and TPR@FPavg.

Boxes are ``(x0, y0, x1, y1)`` in pixels, half-open: a box covers columns ``x0 <= x < x1``.
"""

from mammorepro.detection.anchors import kmeans_anchors
from mammorepro.detection.boxes import box_iou, boxes_from_masks, scale_boxes
from mammorepro.detection.evaluation import average_precision, froc_curve, match_detections, tpr_at_fp
from mammorepro.detection.msf import fuse_scales
from mammorepro.detection.train import DetectorConfig, detect, fit_detector
from mammorepro.detection.yolo import YOLOv3, build_targets, decode, yolo_loss

__all__ = [
    "DetectorConfig",
    "YOLOv3",
    "average_precision",
    "box_iou",
    "boxes_from_masks",
    "build_targets",
    "decode",
    "detect",
    "fit_detector",
    "froc_curve",
    "fuse_scales",
    "kmeans_anchors",
    "match_detections",
    "scale_boxes",
    "tpr_at_fp",
    "yolo_loss",
]
