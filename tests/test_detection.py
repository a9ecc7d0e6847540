"""Stage-1 library of p3: boxes, k-means anchors, YOLOv3 targets / decoding / loss, multi-scale
fusion (Yan et al. eq. 1) and the detection metrics, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mammorepro.detection import (
    DetectorConfig,
    YOLOv3,
    average_precision,
    box_iou,
    boxes_from_masks,
    build_targets,
    decode,
    detect,
    fit_detector,
    froc_curve,
    fuse_scales,
    kmeans_anchors,
    match_detections,
    scale_boxes,
    tpr_at_fp,
    yolo_loss,
)
from mammorepro.detection.anchors import mean_best_iou
from mammorepro.detection.boxes import square_crop_box
from mammorepro.detection.evaluation import tpr_at_fp_rate
from mammorepro.detection.msf import component_boxes
from mammorepro.detection.train import pad_to_stride
from mammorepro.detection.yolo import STRIDES
from mammorepro.errors import ConfigError

ANCHORS = np.array([[8, 8], [12, 10], [16, 16], [24, 20], [30, 30], [40, 36], [56, 50], [70, 70], [96, 90]], np.float32)


def test_boxes_from_masks_are_half_open():
    m = np.zeros((10, 12), np.uint8)
    m[2:5, 3:9] = 1
    assert boxes_from_masks([m, np.zeros_like(m)]).tolist() == [[3, 2, 9, 5]]
    assert boxes_from_masks([]).shape == (0, 4)


def test_box_iou_and_scaling():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert box_iou(a, b)[0].tolist() == pytest.approx([50 / 150, 0.0])
    assert scale_boxes(a, (100, 50), (200, 25)).tolist() == [[0, 0, 5, 20]]


def test_square_crop_box_stays_inside_and_is_square():
    x0, y0, x1, y1 = square_crop_box(np.array([0, 0, 10, 20]), 0.1, (100, 60))
    assert (x0, y0) == (0, 0) and x1 - x0 == y1 - y0 == 24
    x0, y0, x1, y1 = square_crop_box(np.array([50, 90, 60, 100]), 0.5, (100, 60))
    assert x1 <= 60 and y1 <= 100 and x1 - x0 == y1 - y0 == 20


def test_kmeans_anchors_recover_three_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[10, 10], [40, 20], [80, 80]], float)
    wh = np.concatenate([c + rng.normal(0, 0.5, (30, 2)) for c in centres])
    anchors = kmeans_anchors(wh, k=3, seed=1)
    assert np.allclose(anchors, centres, atol=1.0)
    assert np.all(np.diff(anchors.prod(1)) > 0)  # sorted by area
    assert mean_best_iou(wh, anchors) > 0.9


def test_kmeans_anchors_pads_few_boxes_and_rejects_none():
    anchors = kmeans_anchors(np.array([[10, 10], [20, 20]]), k=9)
    assert anchors.shape == (9, 2) and anchors[-1].tolist() == [20, 20]
    with pytest.raises(ConfigError, match="no training boxes"):
        kmeans_anchors(np.zeros((0, 2)))


def _logits_for(targets: list[torch.Tensor]) -> list[torch.Tensor]:
    """Raw head outputs that decode exactly to the targets' boxes, with objectness on only there."""
    outs = []
    for t in targets:
        o = torch.full(t.shape[:4] + (6,), -20.0)
        pos = t[..., 4] > 0
        xy = t[..., 0:2].clamp(1e-4, 1 - 1e-4)
        o[..., 0:2] = torch.where(pos[..., None], torch.log(xy / (1 - xy)), o[..., 0:2])
        o[..., 2:4] = torch.where(pos[..., None], t[..., 2:4], o[..., 2:4])
        o[..., 4] = torch.where(pos, torch.tensor(20.0), o[..., 4])
        o[..., 5] = 20.0
        outs.append(o)
    return outs


def test_targets_and_decoding_round_trip():
    """Each box goes to the head of its best-shape anchor; decoding logits built from the targets
    returns the boxes."""
    boxes = [np.array([[10, 12, 19, 20], [100, 40, 190, 130]], np.float32), np.array([[60, 200, 90, 230]], np.float32)]
    shapes = [(256 // s, 256 // s) for s in STRIDES]
    anchors = torch.as_tensor(ANCHORS)
    targets = build_targets(boxes, anchors, shapes)
    assert [int(t[..., 4].sum()) for t in targets] == [1, 1, 1]  # small box stride 8, 30 px stride 16, 90 px stride 32
    assert targets[2][0, 2, 85 // 32, 145 // 32, 4] == 1  # the 90 px box: largest anchor, cell of its centre
    pred, conf = decode(_logits_for(targets), anchors)
    for b, gt in enumerate(boxes):
        found = pred[b][conf[b] > 0.5].numpy()
        order = np.argsort(found[:, 0])
        assert np.allclose(found[order], gt[np.argsort(gt[:, 0])], atol=1e-2)


def test_yolo_loss_is_lower_for_the_right_answer_and_trains():
    torch.manual_seed(0)
    model = YOLOv3(ANCHORS, width=0.125)
    x = torch.randn(2, 1, 128, 64)
    boxes = [np.array([[10, 20, 40, 50]], np.float32), np.zeros((0, 4), np.float32)]
    loss, parts = yolo_loss(model(x), boxes, model.anchors)
    assert torch.isfinite(loss) and set(parts) == {"xy", "wh", "obj", "cls"}
    shapes = [(128 // s, 64 // s) for s in STRIDES]
    perfect, _ = yolo_loss(_logits_for(build_targets(boxes, model.anchors, shapes)), boxes, model.anchors)
    assert perfect < loss
    with pytest.raises(ConfigError, match="multiple of 32"):
        model(torch.randn(1, 1, 100, 64))


def test_fit_detector_lowers_its_loss_and_detect_maps_back_to_full_size():
    rng = np.random.default_rng(0)
    images = rng.random((4, 256, 128)).astype(np.float32) * 0.2
    boxes = []
    for i in range(4):
        y, x = 40 + 30 * i, 30 + 10 * i
        images[i, y : y + 40, x : x + 40] += 0.8
        boxes.append(np.array([[x, y, x + 40, y + 40]], np.float32))
    torch.manual_seed(0)
    model = YOLOv3(kmeans_anchors(np.array([[40, 40], [20, 20], [60, 60]]), 9), width=0.125)
    hist = fit_detector(model, images, boxes, DetectorConfig(iterations=40, batch_size=4, lr=1e-3, train_sizes=((128, 64),), flip=False))
    frame = hist.to_frame()
    assert frame["loss"].iloc[-1] < frame["loss"].iloc[0]
    dets = detect(model, images, (96, 48), score_threshold=0.0, max_detections=5)  # 96 x 48 is padded to 96 x 64
    assert len(dets) == 4 and all(len(b) <= 5 for b, _ in dets)
    assert all(np.all(b[:, 2] <= 128 + 1e-3) and np.all(b[:, 3] <= 256 + 1e-3) for b, _ in dets)


def test_detector_config_rejects_sizes_off_the_stride():
    with pytest.raises(ConfigError, match="multiple of 32"):
        DetectorConfig(train_sizes=((100, 50),))
    assert pad_to_stride(np.zeros((1, 40, 70))).shape == (1, 64, 96)


def test_msf_fuses_per_equation_1():
    """Three scales: a box found at all three (confidences 0.9, 0.6, 0.9) survives lambda = 0.6,
    a box found once does not; lambda = 0 keeps every covered pixel."""
    shape = (40, 40)
    a = np.array([[10, 10, 20, 20]], np.float32)
    lone = np.array([[30, 30, 35, 36]], np.float32)
    per_scale = [(a, np.array([0.9])), (np.concatenate([a, lone]), np.array([0.6, 0.9])), (a + 1, np.array([0.9]))]
    fused = fuse_scales(per_scale, shape, 0.6)
    # M_s = sum / (N * max c) = sum / 2.7; overlap of the three copies = 2.4 / 2.7 >= 0.6
    assert fused.fusion[15, 15] == pytest.approx(2.4 / 2.7)
    assert fused.fusion[32, 32] == pytest.approx(0.9 / 2.7)
    assert fused.boxes.tolist() == [[11, 11, 20, 20]]  # the intersection of the copies, half-open
    assert fused.scores[0] == pytest.approx(2.4 / 2.7)
    everything = fuse_scales(per_scale, shape, 0.0)
    assert everything.boxes.tolist() == [[10, 10, 21, 21], [30, 30, 35, 36]]
    empty = fuse_scales([(np.zeros((0, 4)), np.zeros(0))] * 5, shape, 0.5)
    assert empty.boxes.shape == (0, 4)
    with pytest.raises(ConfigError, match="lambda"):
        fuse_scales(per_scale, shape, 1.5)


def test_component_boxes_use_8_connectivity():
    m = np.zeros((6, 6), bool)
    m[1, 1] = m[2, 2] = True  # diagonal neighbours: one component
    m[4:6, 4] = True
    assert [b.tolist() for b in component_boxes(m)] == [[1, 1, 3, 3], [4, 4, 5, 6]]


def test_ap_froc_and_tpr_on_a_hand_computed_case():
    """Two images, three masses. Detections by score: 0.9 hit, 0.8 miss, 0.7 hit, 0.6 duplicate
    of a matched mass (false positive). Precision after each: 1, 1/2, 2/3, 2/4; recall 1/3, 1/3,
    2/3, 2/3. All-point AP = 1/3 * 1 + 1/3 * 2/3 = 5/9."""
    gt = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), np.array([[0, 0, 10, 10]], np.float32)]
    dets = [
        (np.array([[0, 0, 10, 10], [50, 50, 60, 60], [1, 1, 10, 10]], np.float32), np.array([0.9, 0.8, 0.6])),
        (np.array([[0, 0, 9, 10]], np.float32), np.array([0.7])),
    ]
    m = match_detections(dets, gt, iou=0.5)
    assert m.hits.tolist() == [True, False, True, False]
    assert average_precision(m) == pytest.approx(5 / 9)
    fps, tpr = froc_curve(m)
    assert fps.tolist() == [0, 0, 0.5, 0.5, 1.0] and tpr.tolist() == pytest.approx([0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    assert tpr_at_fp(m) == pytest.approx((2 / 3, 1.0))
    assert tpr_at_fp_rate(m, 0.5) == pytest.approx(2 / 3)
    none = match_detections([(np.zeros((0, 4)), np.zeros(0))] * 2, gt)
    assert average_precision(none) == 0.0 and tpr_at_fp(none) == (0.0, 0.0)


def test_darknet53_imagenet_weights_load_from_a_local_file(tmp_path):
    """A timm darknet53 state dict (3 channels, 1000-class head) fits the width-1 backbone; the
    RGB stem is summed to one channel."""
    import timm

    src = timm.create_model("darknet53", pretrained=False)
    path = tmp_path / "darknet53.pth"
    torch.save(src.state_dict(), path)
    model = YOLOv3(ANCHORS, width=1.0)
    model.load_backbone(path)
    stem = "stem.conv1.conv.weight"
    assert torch.allclose(model.backbone.state_dict()[stem], src.state_dict()[stem].sum(1, keepdim=True))
    with pytest.raises(ConfigError, match="full Darknet-53"):
        YOLOv3(ANCHORS, width=0.5).load_backbone(path)


def test_centre_rule_counts_a_loose_box_that_the_iou_rule_misses():
    gt = [np.array([[10, 10, 20, 20]], np.float32)]
    loose = [(np.array([[0, 0, 40, 40], [12, 12, 18, 18]], np.float32), np.array([0.9, 0.5]))]
    by_iou = match_detections(loose, gt, iou=0.5)
    by_centre = match_detections(loose, gt, rule="centre")
    assert by_iou.hits.tolist() == [False, False]  # IoU 100/1600 and 36/100
    assert by_centre.hits.tolist() == [True, False]  # the second box is a duplicate once the mass is taken
    with pytest.raises(ValueError, match="hit rule"):
        match_detections(loose, gt, rule="overlap")
