"""Suite-wide guard: no test may reach a real model unless it opts in with ``allow_model_requests()``."""

from elizapy.models import set_allow_model_requests

set_allow_model_requests(False)
