"""Interactive figures of the book (ipywidgets 8 + matplotlib), one call per chapter::

    import nearopt.widgets
    nearopt.widgets.spectrum_explorer()

Every explorer shows a live ipywidget in Jupyter/Thebe and, on the static site (no kernel), a
precomputed HTML/JS view over a grid of its main control (``_repr_mimebundle_`` returns both;
``static_html()`` returns the latter).  For tests, each exposes ``controls`` (name → ipywidget), ``data``
(the numbers last plotted), ``message`` (the error or note shown in the widget, or ''), ``update()``,
``set(**values)`` and ``n_computations`` (real computations; results are cached by the parameters).

=====================  ====================  =======================================
function               main control          chapter
=====================  ====================  =======================================
spectrum_explorer      Nh                    2 (linear networks)
rank_explorer          degree                3 (polynomial networks)
decay_explorer         η / (2/λ_max)         1 (small eigenvalues)
input_explorer         input distribution    4 (beyond the paper)
distance_explorer      σ0                    1 / 4
ntk_explorer           batch size N          0 (introduction)
precision_explorer     Nh                    5 (numerics)
=====================  ====================  =======================================
"""
from ._base import MAX_DENSE_P, Explorer, TooLargeError
from .decay import DecayExplorer, decay_explorer
from .distance import DistanceExplorer, distance_explorer
from .inputs import InputExplorer, input_explorer
from .ntk import NTKExplorer, ntk_explorer
from .precision import PrecisionExplorer, precision_explorer
from .rank import RankExplorer, rank_explorer
from .spectrum import SpectrumExplorer, spectrum_explorer

__all__ = ["Explorer", "TooLargeError", "MAX_DENSE_P", "EXPLORERS",
           "spectrum_explorer", "rank_explorer", "decay_explorer", "input_explorer", "distance_explorer",
           "ntk_explorer", "precision_explorer",
           "SpectrumExplorer", "RankExplorer", "DecayExplorer", "InputExplorer", "DistanceExplorer",
           "NTKExplorer", "PrecisionExplorer"]

#: name → factory, in the book's priority order
EXPLORERS = {
    "spectrum_explorer": spectrum_explorer,
    "rank_explorer": rank_explorer,
    "decay_explorer": decay_explorer,
    "input_explorer": input_explorer,
    "distance_explorer": distance_explorer,
    "ntk_explorer": ntk_explorer,
    "precision_explorer": precision_explorer,
}
