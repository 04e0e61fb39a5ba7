SELECT doc FROM `riverwatch`.`silences` FINAL  ORDER BY starts_at DESC, id LIMIT 1073741824
