"""rmcourse: a course on the pair-wise ranking (Bradley-Terry) loss of RLHF reward models.

The package is built up by the lessons in ``notebooks/`` and then imported by them:

1. :mod:`rmcourse.np_loss` -- the loss, its gradient and the K-wise loss in NumPy;
2. :mod:`rmcourse.torch_loss` -- the same in PyTorch; :mod:`rmcourse.bt_fit` -- tabular fit;
3. :mod:`rmcourse.data`, :mod:`rmcourse.model` -- a preference world and reward models;
4. :mod:`rmcourse.train`, :mod:`rmcourse.plots` -- training, evaluation and figures;
5. :mod:`rmcourse.quiz` -- interactive questions;
6. :mod:`rmcourse.grading`, :mod:`rmcourse.notebooks` -- exercises, grading, running notebooks;
7. :mod:`rmcourse.cli` -- the ``rmcourse`` command.

Lower layers never import higher ones; importing ``rmcourse`` itself imports nothing heavy.
"""

__version__ = "0.1.0"
