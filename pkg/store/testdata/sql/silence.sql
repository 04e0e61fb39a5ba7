SELECT doc FROM `riverwatch`.`silences` FINAL WHERE id = 'sil-1'
