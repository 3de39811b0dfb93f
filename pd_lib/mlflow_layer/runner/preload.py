"""What the step server does while main starts, besides importing tune's modules.

main's BACKGROUND_PRELOAD names this module: the step server imports it on a core that main's
own start leaves idle, and every background step is a fork of that server, so what is done
here is not done again on the step's own time.
"""

from pd_lib.mlflow_layer.mlflow_internals import fill_installed_package_map

fill_installed_package_map()  # 1.4 s of the background step's log_model otherwise
