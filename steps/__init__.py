"""Click scripts, one per MLproject entry point: parse options, call pd_lib, log."""
