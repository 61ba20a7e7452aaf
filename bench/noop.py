"""The processing baseline's job: does nothing."""


def noop() -> None:
    return None
