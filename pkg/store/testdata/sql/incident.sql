SELECT doc FROM `riverwatch`.`incidents` FINAL WHERE id = 'inc-sth-s2-nh3n'
