"""Reading single images from disk (8/16-bit grayscale PGM, PNG, JPEG, TIFF; DICOM via pydicom)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from mammorepro.errors import DataError


def read_gray(path: str | Path) -> np.ndarray:
    """Read one grayscale image keeping its bit depth (uint8 or uint16)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"image file {path} does not exist")
    if path.suffix.lower() == ".dcm":
        import pydicom

        ds = pydicom.dcmread(str(path))
        arr = ds.pixel_array
        if getattr(ds, "PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
            arr = arr.max() - arr
        return arr
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataError(f"{path} is not a readable image (PGM, PNG, JPEG, TIFF or DICOM)")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return img


def dicom_decoder_problem(path: str | Path) -> str | None:
    """None when this installation can decode the DICOM's pixel data, else one line naming the
    transfer syntax and the package to install (from the header only; pixels are not read)."""
    import pydicom
    from pydicom.pixels import get_decoder

    ds = pydicom.dcmread(str(path), stop_before_pixels=True)
    uid = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if uid is None or not uid.is_compressed:
        return None
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return f"transfer syntax {uid.name} has no pixel decoder in pydicom"
    if decoder.is_available:
        return None
    options = "; or ".join(decoder.missing_dependencies)
    return f"transfer syntax {uid.name} needs a decoder: install {options}"


def write_dicom(path: str | Path, pixels: np.ndarray, *, sop_class: str, uid_seed: str, bits_stored: int | None = None, **tags) -> None:
    """Write a minimal valid uncompressed DICOM (explicit VR little endian, MONOCHROME2) with file
    meta, for the phantom's real-format trees. ``tags`` are set as DICOM attributes
    (e.g. ``PatientID``, ``SeriesDescription``); UIDs derive from ``uid_seed`` (deterministic)."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    path = Path(path)
    sop = generate_uid(entropy_srcs=[uid_seed])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = sop_class, sop, "MG"
    for key, value in tags.items():
        setattr(ds, key, value)
    allocated = pixels.dtype.itemsize * 8
    stored = bits_stored or allocated
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = allocated, stored, stored - 1
    ds.PixelData = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder("<")).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if int(pydicom.__version__.split(".")[0]) >= 3:
        ds.save_as(str(path), enforce_file_format=True)
    else:  # pydicom 2.x
        ds.is_little_endian, ds.is_implicit_VR = True, False
        ds.save_as(str(path), write_like_original=False)


def new_folder(root: str | Path) -> Path:
    """Create ``root`` for a phantom tree; refuse a folder that already holds anything, so a
    writer can never overwrite a user's data."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DataError(f"{root} is not a new or empty folder: phantom trees are only written into new or empty folders")
    root.mkdir(parents=True, exist_ok=True)
    return root
