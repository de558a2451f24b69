"""Interactive figures of the book (ipywidgets 8 + matplotlib), one call per chapter::

    import nearopt.widgets
    nearopt.widgets.spectrum_explorer()

Every explorer is a live ipywidget in Jupyter.  For the static site, displays also carry a precomputed
HTML/JS view over a grid of the main control, but only when the environment variable
``NEAROPT_STATIC_PREVIEW=1`` is set (book builds); ``static_html()`` returns it on demand.  Each explorer
exposes ``controls`` (name → ipywidget), ``data`` (the numbers last plotted), ``message`` (the error or the
notes shown in the widget, or ''), ``update()``, ``set(**values)`` and ``n_computations`` (results are cached
by the parameters).  Each one's computation is a public function a chapter can call directly
(``spectrum_data`` …); :meth:`Explorer.from_functions` makes a small explorer from three functions.

Layout: ``explorer`` (state, cache, display), ``static`` (+ ``templates/``: the kernel-free view),
``figures`` (reusable figure, axes, PNG, histograms), ``controls`` (widgets and checks of their values),
``shared`` (computations used by several explorers), and one module per explorer.

=====================  ====================  ======================  ===================
function               computation           main control            chapter
=====================  ====================  ======================  ===================
spectrum_explorer      spectrum_data         Nh                      2 (linear networks)
rank_explorer          rank_data             degree                  3 (polynomial)
decay_explorer         decay_data            η / (2/λ_max)           1 (small eigenvalues)
input_explorer         input_data            input distribution      4 (beyond the paper)
distance_explorer      distance_data         σ0                      1 / 4
ntk_explorer           ntk_data              batch size N            0 (introduction)
precision_explorer     precision_data        Nh                      5 (numerics)
=====================  ====================  ======================  ===================
"""
from .controls import INPUT_SEED_OFFSET, MAX_BATCH, MAX_DENSE_P, TooLargeError, input_seed
from .decay import DecayExplorer, decay_data, decay_explorer, late_window
from .distance import DistanceExplorer, distance_data, distance_explorer
from .explorer import Explorer
from .inputs import InputExplorer, input_data, input_explorer
from .ntk import NTKExplorer, hessian_ntk_comparison, ntk_data, ntk_explorer
from .precision import PrecisionExplorer, precision_data, precision_explorer
from .rank import RankExplorer, rank_data, rank_explorer
from .spectrum import SpectrumExplorer, spectrum_data, spectrum_explorer
from .static import static_preview_enabled

__all__ = ["Explorer", "TooLargeError", "MAX_DENSE_P", "MAX_BATCH", "INPUT_SEED_OFFSET", "input_seed",
           "EXPLORERS", "static_preview_enabled",
           "spectrum_explorer", "rank_explorer", "decay_explorer", "input_explorer", "distance_explorer",
           "ntk_explorer", "precision_explorer",
           "spectrum_data", "rank_data", "decay_data", "input_data", "distance_data", "ntk_data",
           "precision_data", "hessian_ntk_comparison", "late_window",
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
