#!/usr/bin/env python3
"""Writes make_nnunet_folder.py's reference case as nnU-Net channel files and its expected labels.

Usage: nnunet_reference_case.py REFERENCE.pth IMAGES_DIR CASE EXPECTED.nii.gz
IMAGES_DIR/CASE_0000.nii.gz, CASE_0001.nii.gz, ... (int16, one per channel) and EXPECTED.nii.gz
(uint8), both with the reference's spacing (NIfTI x, y, z order of the z, y, x arrays).
"""
import sys

import nibabel as nib
import numpy as np
import torch

reference, images, case, expected = sys.argv[1:5]
ref = torch.load(reference)
sz, sy, sx = ref["spacing_zyx"].tolist()
affine = np.diag([sx, sy, sz, 1.0])
for c, channel in enumerate(ref["image"].numpy()):
    nib.save(nib.Nifti1Image(channel.transpose(2, 1, 0).astype(np.int16), affine), f"{images}/{case}_{c:04d}.nii.gz")
nib.save(nib.Nifti1Image(ref["labels"].numpy().transpose(2, 1, 0).astype(np.uint8), affine), expected)
