"""apidhcpd's tests: `python -m tests` runs them all (tests/__main__.py)."""

from hypothesis import HealthCheck, settings

# Property tests judge the code, not the machine: on a loaded 2-core runner example generation
# can be slow and an example can pass a wall-clock deadline, neither of which is a failure.
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")
