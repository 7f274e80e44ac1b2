"""Reading a study: the study file, rsatoolbox RDM files (HDF5), and their alignment to the images
they have in common."""

from .align import common_images, condensed_index, pair_index, positions
from .images import ImageAccount, image_keys, stem_casefold
from .loading import AlignedStudy, Alignment, RDMSet, StudyFiles, load_aligned, subject_images
from .rdmfile import RDMFile, open_rdm_file
from .study import DEFAULT_ATLAS, Bootstrap, Images, Study, load_study

__all__ = [
    "DEFAULT_ATLAS",
    "AlignedStudy",
    "Alignment",
    "Bootstrap",
    "ImageAccount",
    "Images",
    "RDMFile",
    "RDMSet",
    "Study",
    "StudyFiles",
    "common_images",
    "condensed_index",
    "image_keys",
    "load_aligned",
    "load_study",
    "open_rdm_file",
    "pair_index",
    "positions",
    "stem_casefold",
    "subject_images",
]
