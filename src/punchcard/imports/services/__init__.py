from .packages import BATCH_ROWS, MAX_ROWS, import_packages

__all__ = ["BATCH_ROWS", "MAX_ROWS", "import_packages"]
