#!/usr/bin/python3
"""Reference for `voxseg refine`: SamPredictor's (segment-anything) and MedSAM_Inference.py's pre- and
post-processing, re-implemented here from their published behaviour with Pillow, scikit-image,
numpy and torch, around a PyTorch SAM network built by make_sam_fixture.py.

usage: sam_refine_reference.py CHECKPOINT IMAGE.png OUT_PREFIX --preset sam|medsam
           (--box X0,Y0,X1,Y1 | --point X,Y:1|0 ...) [--multimask on|off] [--fixture-preset tiny]
writes OUT_PREFIX_logits.f32 (float32 [H,W], the chosen mask's upsampled logits; MedSAM: logit of
the upsampled probability), OUT_PREFIX_mask.u8 (uint8 [H,W]) and OUT_PREFIX.json (iou, mask_index)."""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sam_fixture  # noqa: E402  (the sam helper's PyTorch reference SAM)

PIXEL_MEAN = torch.tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
PIXEL_STD = torch.tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)


def preprocess_shape(oldh, oldw, long_side):  # ResizeLongestSide.get_preprocess_shape
    scale = long_side * 1.0 / max(oldh, oldw)
    newh, neww = oldh * scale, oldw * scale
    return int(newh + 0.5), int(neww + 0.5)


def apply_coords(coords, original_size, long_side):  # ResizeLongestSide.apply_coords
    old_h, old_w = original_size
    new_h, new_w = preprocess_shape(old_h, old_w, long_side)
    coords = np.array(coords, dtype=np.float64).copy()
    coords[..., 0] = coords[..., 0] * (new_w / old_w)
    coords[..., 1] = coords[..., 1] * (new_h / old_h)
    return coords


def load_sam(checkpoint, preset):
    sam = make_sam_fixture.Sam(make_sam_fixture.PRESETS[preset]).eval()
    sd = torch.load(checkpoint)
    if "model" in sd:  # MedSAM's training checkpoint
        sd = {k[len("module."):] if k.startswith("module.") else k: v for k, v in sd["model"].items()}
    sam.load_state_dict(sd)
    sam.img_size = make_sam_fixture.PRESETS[preset]["image_size"]
    return sam


def decode(sam, embedding, points, labels, box, multimask):
    """Sam.predict_torch's network part: prompt encoder, mask decoder, SAM's mask selection."""
    sparse, dense = sam.prompt_encoder(points, labels, box, None, 1)
    masks, iou = sam.mask_decoder.forward_one(embedding, sam.prompt_encoder.dense_pe(), sparse, dense)
    return (masks[:, 1:], iou[:, 1:]) if multimask else (masks[:, :1], iou[:, :1])


def run_sam(sam, rgb, box, points, point_labels, multimask):
    s = sam.img_size
    h, w = rgb.shape[:2]
    newh, neww = preprocess_shape(h, w, s)
    resized = np.array(Image.fromarray(rgb).resize((neww, newh), Image.BILINEAR))  # torchvision resize on PIL
    x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None, :, :, :]
    x = (x - PIXEL_MEAN) / PIXEL_STD  # Sam.preprocess
    x = F.pad(x, (0, s - neww, 0, s - newh))
    embedding = sam.image_encoder(x)
    box_t = pts_t = lab_t = None
    if box is not None:
        box_t = torch.as_tensor(apply_coords(np.array(box).reshape(-1, 2, 2), (h, w), s).reshape(-1, 4),
                                dtype=torch.float)
    if points is not None:
        pts_t = torch.as_tensor(apply_coords(np.array(points), (h, w), s), dtype=torch.float)[None]
        lab_t = torch.as_tensor(np.array(point_labels), dtype=torch.int)[None]
    low_res, iou = decode(sam, embedding, pts_t, lab_t, box_t, multimask)
    masks = F.interpolate(low_res, (s, s), mode="bilinear", align_corners=False)  # Sam.postprocess_masks
    masks = masks[..., :newh, :neww]
    masks = F.interpolate(masks, (h, w), mode="bilinear", align_corners=False)
    k = int(torch.argmax(iou[0])) if multimask else 0
    logits = masks[0, k].numpy().astype(np.float32)
    return logits, logits > 0, float(iou[0, k]), k


def run_medsam(sam, rgb, box, multimask):
    from skimage import transform
    s = sam.img_size
    h, w = rgb.shape[:2]
    img = transform.resize(rgb, (s, s), order=3, preserve_range=True, anti_aliasing=True).astype(np.uint8)
    img = (img - img.min()) / np.clip(img.max() - img.min(), a_min=1e-8, a_max=None)
    x = torch.tensor(img).float().permute(2, 0, 1).unsqueeze(0)
    embedding = sam.image_encoder(x)
    box_1024 = np.array([box]) / np.array([w, h, w, h]) * s
    box_t = torch.as_tensor(box_1024, dtype=torch.float)
    low_res, iou = decode(sam, embedding, None, None, box_t, multimask)
    k = int(torch.argmax(iou[0])) if multimask else 0
    prob = torch.sigmoid(low_res[:, k:k + 1])
    prob = F.interpolate(prob, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
    logits = torch.logit(prob.double(), eps=1e-12).float().numpy()
    return logits, prob.numpy() > 0.5, float(iou[0, k]), k


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("image")
    ap.add_argument("out_prefix")
    ap.add_argument("--preset", default="sam")
    ap.add_argument("--box")
    ap.add_argument("--point", action="append", default=[])
    ap.add_argument("--multimask", default="auto")
    ap.add_argument("--fixture-preset", default="tiny", help="make_sam_fixture.py preset the weights were made with")
    a = ap.parse_args()
    rgb = np.array(Image.open(a.image))
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=-1)
    rgb = np.ascontiguousarray(rgb[:, :, :3])
    box = [float(v) for v in a.box.split(",")] if a.box else None
    points = [[float(v) for v in p.split(":")[0].split(",")] for p in a.point] or None
    labels = [int(p.split(":")[1]) for p in a.point] or None
    multimask = a.multimask == "on" or (a.multimask == "auto" and box is None and len(a.point) == 1)
    sam = load_sam(a.checkpoint, a.fixture_preset)
    with torch.no_grad():
        if a.preset == "sam":
            logits, mask, iou, k = run_sam(sam, rgb, box, points, labels, multimask)
        else:
            logits, mask, iou, k = run_medsam(sam, rgb, box, multimask)
    logits.astype(np.float32).tofile(a.out_prefix + "_logits.f32")
    mask.astype(np.uint8).tofile(a.out_prefix + "_mask.u8")
    with open(a.out_prefix + ".json", "w") as f:
        json.dump({"iou": iou, "mask_index": k, "height": int(rgb.shape[0]), "width": int(rgb.shape[1])}, f)


if __name__ == "__main__":
    main()
