"""monitor: judge a later period of loans against the model version's development sample.

Logs in one run: stability (PSI of the PD and the grades, CSI per characteristic, with critical
values), and with a 'default' column discrimination (AUC with its DeLong interval, the test of
its drop) and calibration per grade and portfolio (Jeffreys, binomial, heterogeneity,
Herfindahl), per vintage, traffic lights, report/monitoring_report.html; tags the version
pd.monitor.status / run_id / period. Exits 3 on a red status with --fail-on red.
"""

from __future__ import annotations

import sys

import click

from pd_lib.config import MONITOR_RED_EXIT_CODE
from pd_lib.errors import exit_on_user_error
from steps.options import StepCommand, entry_point_options


@click.command(cls=StepCommand, help=__doc__)
@entry_point_options("monitor")
@exit_on_user_error
def monitor(model_uri: str, data_uri: str, engine: str, spark_master: str, fail_on: str) -> None:
    from pd_lib.mlflow_layer.log_setup import setup_logging
    from pd_lib.mlflow_layer.scoring.monitoring import check_fail_on, fails, monitor_and_log

    setup_logging()
    check_fail_on(fail_on)
    found = monitor_and_log(model_uri, data_uri, engine, spark_master)
    result = found.result
    click.echo(f"{found.model.name} version {found.model.version or '-'} on {found.period}: "
               f"status {result.status.upper()}"
               + ("" if result.has_outcomes else " (stability only: no default column)")
               + f"; run {found.run_id}")
    for light in result.lights:
        if light.colour != "green":
            click.echo(f"  {light.colour}: {light.check} = {light.value:.4g} ({light.thresholds})")
    if result.shifted:
        click.echo(f"  shifted characteristics: {', '.join(result.shifted)}")
    if fails(result.status, fail_on):
        click.echo(f"status {result.status} with fail_on={fail_on}: exit "
                   f"{MONITOR_RED_EXIT_CODE}", err=True)
        sys.exit(MONITOR_RED_EXIT_CODE)


if __name__ == "__main__":
    monitor()
