print("hive-health")
