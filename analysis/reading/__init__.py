"""Reading a study: the study file, rsatoolbox RDM files (HDF5), and their alignment to the images
they have in common."""
from .align import common_images, condensed_index, pair_index, positions
from .loading import AlignedStudy, Alignment, RDMSet, load_aligned
from .rdmfile import RDMFile, open_rdm_file
from .study import Bootstrap, Study, load_study

__all__ = ["AlignedStudy", "Alignment", "Bootstrap", "RDMFile", "RDMSet", "Study", "common_images",
           "condensed_index", "load_aligned", "load_study", "open_rdm_file", "pair_index", "positions"]
