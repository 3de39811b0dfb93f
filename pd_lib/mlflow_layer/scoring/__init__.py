"""Using a version: batch scoring with pandas (batch) or Spark (spark), the REST server
(serving), and monitoring a period against the version's development data (monitoring; its
Spark counts in spark_monitoring).
"""

__all__ = [
    "batch",
    "monitoring",
    "serving",
    "spark",
    "spark_monitoring",
]
