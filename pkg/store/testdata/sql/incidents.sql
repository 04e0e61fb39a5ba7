SELECT doc FROM `riverwatch`.`incidents` FINAL  ORDER BY opened_at DESC, id LIMIT 0, 1073741824
