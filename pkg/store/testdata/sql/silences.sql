SELECT doc FROM `riverwatch`.`silences` FINAL WHERE ends_at > toDateTime(1769862615) ORDER BY starts_at DESC, id LIMIT 1000
