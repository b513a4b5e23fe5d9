"""Every case of the corpus, from every module, for counting."""

from __future__ import annotations

from .corpus import Case
from .experiment_files import CASES as EXPERIMENT_FILES
from .test_arguments import CASES as ARGUMENTS
from .test_infrastructure import CASES as INFRASTRUCTURE
from .test_replay import CASES as REPLAY
from .test_report import CASES as REPORT

ALL: list[Case] = [*EXPERIMENT_FILES, *ARGUMENTS, *REPLAY, *REPORT, *INFRASTRUCTURE]
