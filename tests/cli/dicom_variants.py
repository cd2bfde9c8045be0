#!/usr/bin/python3
"""Makes DICOM series "as they come from archives" from a clean single-frame series (test fixtures).

usage: dicom_variants.py KIND SRC_DIR OUT [N]
  KIND   enhanced   one Enhanced CT Image Storage file OUT (per-frame functional groups) from the first N slices
         tilt       a series OUT/ as a gantry tilted by 15 degrees gives it: ImageOrientationPatient rotated
                    about the x axis, positions still along the table (z), so not along the slice normal
         gap        OUT/ without slices 3 and 6 (two gaps)
         localizer  OUT/ = the series plus two LOCALIZER images (ImageType ORIGINAL\\PRIMARY\\LOCALIZER,
                    coronal orientation) with the same SeriesInstanceUID
Only Debian's python3-pydicom and numpy are needed; the source files are never modified.
"""
import copy
import math
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"


def load(src, n=None):
    files = sorted(f for f in os.listdir(src) if f.endswith(".dcm"))
    sets = [pydicom.dcmread(os.path.join(src, f)) for f in files]
    sets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    return sets[:n] if n else sets


def save_all(sets, out):
    os.makedirs(out, exist_ok=True)
    for k, d in enumerate(sets, 1):
        d.save_as(os.path.join(out, "IMG%04d.dcm" % k), write_like_original=False)


def enhanced(src, out, n):
    sets = load(src, n)
    first = sets[0]
    ds = Dataset()
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "StudyTime", "Modality",
                    "FrameOfReferenceUID", "SeriesDescription", "SeriesNumber", "Rows", "Columns", "BitsAllocated",
                    "BitsStored", "HighBit", "PixelRepresentation", "SamplesPerPixel", "PhotometricInterpretation"):
        if keyword in first:
            setattr(ds, keyword, getattr(first, keyword))
    ds.SOPClassUID = ENHANCED_CT
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL", "NONE"]
    ds.InstanceNumber = 1
    ds.NumberOfFrames = len(sets)
    ds.ContentDate, ds.ContentTime, ds.AcquisitionDateTime = "20260101", "120000", "20260101120000"
    step = abs(float(sets[1].ImagePositionPatient[2]) - float(sets[0].ImagePositionPatient[2]))
    shared = Dataset()
    pm = Dataset()
    pm.PixelSpacing = first.PixelSpacing
    pm.SliceThickness = first.SliceThickness
    pm.SpacingBetweenSlices = step
    shared.PixelMeasuresSequence = Sequence([pm])
    po = Dataset()
    po.ImageOrientationPatient = first.ImageOrientationPatient
    shared.PlaneOrientationSequence = Sequence([po])
    # Stored unsigned with the rescale only in the functional groups (as scanners write it), so a
    # reader that ignores them is off by 1024.
    pvt = Dataset()
    pvt.RescaleIntercept = float(first.get("RescaleIntercept", 0)) - 1024
    pvt.RescaleSlope = first.get("RescaleSlope", 1)
    pvt.RescaleType = "HU"
    shared.PixelValueTransformationSequence = Sequence([pvt])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for k, s in enumerate(sets):
        fg = Dataset()
        pp = Dataset()
        pp.ImagePositionPatient = s.ImagePositionPatient
        fg.PlanePositionSequence = Sequence([pp])
        fc = Dataset()
        fc.FrameAcquisitionNumber = k + 1
        fc.DimensionIndexValues = [k + 1]
        fg.FrameContentSequence = Sequence([fc])
        frames.append(fg)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelRepresentation = 0
    ds.PixelData = (np.stack([s.pixel_array for s in sets]).astype(np.int32) + 1024).astype(np.uint16).tobytes()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENHANCED_CT
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.preamble = b"\0" * 128
    ds.save_as(out, write_like_original=False)


def tilt(src, out, degrees=15.0):
    sets = load(src)
    a = math.radians(degrees)
    for d in sets:
        # rows stay along x; columns tilt from +y towards +z. Positions are untouched (table steps in z).
        d.ImageOrientationPatient = [1, 0, 0, 0, round(math.cos(a), 6), round(math.sin(a), 6)]
        d.GantryDetectorTilt = degrees
    save_all(sets, out)


def gap(src, out):
    sets = load(src)
    save_all([d for k, d in enumerate(sets, 1) if k not in (3, 6)], out)


def localizer(src, out):
    sets = load(src)
    extra = []
    for k in range(2):
        d = copy.deepcopy(sets[0])
        d.ImageType = ["ORIGINAL", "PRIMARY", "LOCALIZER"]
        d.ImageOrientationPatient = [1, 0, 0, 0, 0, -1]  # coronal
        d.ImagePositionPatient = [-190.8, float(k * 10), 0.0]
        d.SOPInstanceUID = generate_uid()
        d.InstanceNumber = 900 + k
        extra.append(d)
    save_all(extra + sets, out)


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    kind, src, out = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else None
    {"enhanced": lambda: enhanced(src, out, n or 8), "tilt": lambda: tilt(src, out),
     "gap": lambda: gap(src, out), "localizer": lambda: localizer(src, out)}[kind]()
