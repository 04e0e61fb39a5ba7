SELECT doc FROM `riverwatch`.`incidents` FINAL WHERE status IN ('open', 'acknowledged') AND arrayExists(j -> has(['changji', 'xpcc6'], j), jurisdictions) ORDER BY opened_at DESC, id LIMIT 40, 20
