// riverwatch dashboard: one document, hash routes, inline SVG. No dependencies.
// Chinese first (the users are Chinese officials), English by a toggle.

const TZ = 'Asia/Shanghai';
const CLASS_COLOR = { I: '#5ab1ef', II: '#5ab1ef', III: '#42cc70', IV: '#e8dd3e', V: '#f5a524', '劣V': '#ed5466' };
const NO_CLASS = '#c0c4cc';
const ROMAN = { I: 'Ⅰ', II: 'Ⅱ', III: 'Ⅲ', IV: 'Ⅳ', V: 'Ⅴ', '劣V': '劣Ⅴ' };
const CLASS_ORDER = ['I', 'II', 'III', 'IV', 'V', '劣V'];

const I18N = {
  zh: {
    'app.title': '昌吉市河流水质预警', 'nav.overview': '总览', 'nav.incidents': '事件处置', 'nav.reports': '达标报告',
    'token.title': '登录', 'token.help': '请输入访问令牌（由管理员在令牌文件中发放）。', 'token.save': '保存',
    'token.bad': '令牌无效', 'who.none': '登录',
    'c.sites': '监测点位', 'c.exceeding': '超标点位', 'c.offline': '离线点位', 'c.incidents': '未结事件',
    'legend': '水质类别', 'legend.none': '无数据/不适用',
    'overview.schematic': '河流示意图（南→北，按河道里程）', 'overview.sites': '点位水质',
    'col.site': '点位', 'col.kind': '类型', 'col.river': '河流', 'col.class': '类别', 'col.target': '目标',
    'col.status': '状态', 'col.pollutants': '主要污染指标', 'col.last': '最新数据', 'col.param': '指标',
    'col.value': '数值', 'col.time': '时间', 'col.limit': '标准限值',
    'kind.section': '断面', 'kind.drinking_source': '饮用水水源地', 'kind.outfall': '入河排污口',
    'status.normal': '正常', 'status.exceeding': '超标', 'status.offline': '离线', 'status.no_data': '无数据',
    'site.latest': '最新监测值', 'site.series': '时间序列', 'site.events': '事件', 'site.csv': '下载CSV',
    'site.target': '目标类别', 'site.jurisdiction': '属地', 'site.km': '里程', 'site.nodata': '该时段无数据',
    'range.24h': '24小时', 'range.7d': '7天', 'range.30d': '30天', 'range.1y': '1年',
    'inc.active': '未结', 'inc.all': '全部', 'inc.none': '暂无事件', 'inc.opened': '发生', 'inc.level': '级别',
    'inc.jur': '涉及属地', 'inc.site': '起始点位', 'inc.acked': '确认', 'inc.ack': '确认接警', 'inc.resolve': '解除事件', 'inc.resolve.confirm': '确定解除该事件？将向所有已通知的单位发送解除通知。',
    'inc.receipt': '确认收到', 'inc.done': '完成', 'inc.log': '处置记录', 'inc.notifications': '通知记录', 'inc.stationCommands': '站点指令', 'inc.sources': '溯源：上游污染源排序', 'src.none': '无可排序的上游点位', 'src.score': '得分', 'src.lag': '滞后（实际/预计）', 'src.evidence': '依据', 'scmd.raise_frequency': '加密监测', 'scmd.restore_frequency': '恢复监测频次', 'scmd.retain_sample': '超标留样', 'scmd.sync_clock': '校时', 'scmd.read_clock': '读取时间', 'scmd.query_info': '提取现场机信息', 'scmd.rotate_key': '更新密钥',
    'inc.drill': '发起演练', 'inc.drill.site': '演练点位', 'inc.drill.param': '指标', 'inc.drillTag': '演练',
    'inc.report.follow_up': '下载续报', 'inc.report.final': '下载处理结果报告', // GET …/report (#21)
    'step.relation': '关系', 'step.jur': '属地', 'step.owner': '责任单位', 'step.action': '措施', 'step.deadline': '时限',
    'inc.back': '全部事件',
    // Role names of configs/contacts.yaml (its roles:), which steps carry as ids.
    'role.river_chief_office': '河长办', 'role.eeb': '生态环境局', 'role.emergency': '应急管理局', 'role.water_plant': '水厂',
    'role.source_monitor': '水源地保护站', 'role.maintenance': '运维单位', 'role.discharger_supervisor': '排污监管科',
    'step.receipt': '签收', 'step.done': '完成',
    'rel.self': '本地', 'rel.upstream': '上游', 'rel.downstream': '下游', 'rel.downstream_to_intake': '下游取水口',
    'ist.open': '未确认', 'ist.acknowledged': '已确认', 'ist.resolved': '已解除', 'ist.closed': '已关闭',
    'cmd.applied': '已执行', 'cmd.pending': '已提交，等待处置服务执行', 'cmd.failed': '操作失败',
    'rep.year': '年度', 'rep.indicators': '规划指标（表2—1）', 'rep.indicator': '指标', 'rep.value': '实际',
    'rep.targetv': '2025年目标', 'rep.meets': '达标', 'rep.corrected': '人工更正数据', 'rep.months': '逐月断面水质类别', 'rep.period': '时段',
    'rep.rivers': '河流水质评价（2011年评价办法）', 'rep.method': '方法', 'rep.share3': 'Ⅰ～Ⅲ类比例',
    'rep.csv': '下载CSV', 'rep.sections': '断面数', 'rep.yes': '达标', 'rep.no': '未达标', 'rep.na': '—', 'rep.insufficient': '数据不足',
    'rep.nondetect': '未检出项（按检出限一半计）', 'rep.source': '数据来源', 'src.automatic': '自动监测', 'src.manual': '手工监测', 'src.mixed': '自动+手工',
    'rep.setaside': '自动数据优先，未采用手工数据',
    'mon.title': '河流水质月报', 'mon.section': '月报（逐月达标情况）', 'mon.open': '月报', 'mon.city': '全市', 'mon.print': '打印',
    'mon.csv': '下载月报CSV', 'mon.month': '月份', 'mon.scope': '范围', 'mon.running': '本月尚未结束，数据截至生成时', 'mon.generated': '生成于',
    'mon.rated': '参评点位', 'mon.meeting': '达标点位', 'mon.share': '达标率', 'mon.improved': '好转', 'mon.worse': '变差',
    'mon.incidents': '突发事件', 'mon.drills': '应急演练', 'mon.openEnd': '月末未解除', 'mon.classes': '水质类别构成', 'mon.sites': '断面（点位）水质',
    'mon.prev': '上月', 'mon.change': '变化', 'ch.better': '好转', 'ch.worse': '变差', 'ch.same': '持平', 'mon.incList': '本月突发事件', 'mon.incTitle': '事件',
    'mon.drillList': '本月应急演练', 'mon.none': '无', 'mon.level': '级别', 'mon.opened': '发生时间', 'mon.status': '状态', 'mon.met': '按时完成率',
    'mon.compliance': '达标（达标/参评）',
    'method.mean_concentration': '平均浓度法', 'method.class_share': '断面类别比例法',
    'drill.year': '应急演练年度评估', 'drill.list': '演练评分（逐项措施）', 'drill.jur': '属地', 'drill.drills': '参演次数',
    'drill.steps': '措施（按时/超时/未完成）', 'drill.share': '按时完成率', 'drill.receipt': '签收用时（中位数）', 'drill.ack': '确认接警用时（中位数）',
    'drill.done': '完成用时（中位数）', 'drill.trend': '较上半年', 'drill.csv': '下载演练CSV', 'drill.listcsv': '下载评分CSV', 'drill.none': '本年度暂无演练',
    'drill.opened': '开始', 'drill.title': '演练', 'drill.ackAfter': '确认用时', 'drill.receiptAfter': '签收用时', 'drill.doneAfter': '完成用时', 'drill.allowed': '时限',
    'drill.outcome': '评定', 'drill.min': '分钟',
    'out.met': '按时', 'out.late': '超时', 'out.missed': '未完成', 'out.pending': '进行中',
    'trend.improved': '提升', 'trend.worse': '下降', 'trend.unchanged': '持平', 'trend.no_data': '无可比数据',
    'rep.skill': '污染团预测检验（分河段）', 'skill.reach': '河段（起点 → 预测点位）', 'skill.checked': '检验', 'skill.verified': '应验', 'skill.refuted': '未应验',
    'skill.hit': '命中率', 'skill.mean': '平均时间误差（分钟）', 'skill.abs': '平均绝对误差（分钟）', 'skill.none': '该时段无预测检验',
    // The verification's own errors (GET /api/v1/predictions/skill: measured, mean_*_error*).
    'skill.rise': '起涨误差（分钟）', 'skill.riseAbs': '起涨绝对误差（分钟）', 'skill.peakTime': '峰现时间误差（分钟）', 'skill.peak': '峰值误差（mg/L）',
    'skill.duration': '历时误差（分钟）', 'skill.note': '时间误差为实测起涨减预计到达；起涨、峰现时间、峰值、历时误差为实测减预测窗口（预计前锋、峰值、前锋至回落）的平均值，仅计带验证误差的检验，无则为“-”。负值偏早（偏低），正值偏晚（偏高）。',
    'ev.exceedance.opened': '超标', 'ev.exceedance.updated': '超标更新', 'ev.exceedance.cleared': '超标解除',
    'ev.prediction.issued': '污染预测', 'ev.prediction.cleared': '预测解除', 'ev.quality.suspect': '数据存疑',
    'ev.station.offline': '站点离线', 'ev.station.online': '站点恢复',
    'ev.prediction.verified': '预测应验', 'ev.prediction.refuted': '预测未应验',
    'err.forbidden': '无权访问', 'err.load': '加载失败', 'back': '← 返回总览', 'none': '无',
    'nav.silences': '静默与维护', 'sil.live': '生效与待生效', 'sil.expired': '已结束', 'sil.none': '暂无静默',
    'sil.state': '状态', 'sil.matchers': '匹配条件', 'sil.starts': '开始', 'sil.ends': '结束', 'sil.by': '创建人',
    'sil.comment': '原因', 'sil.weekly': '每周', 'sil.expire': '结束静默', 'sil.expire.confirm': '确定结束该静默？被暂缓的通知将立即发出。',
    'sil.new': '新建静默/维护窗口', 'sil.site': '点位', 'sil.param': '指标（可选）', 'sil.hours': '时长（小时）',
    'sil.eor': '事件解除时结束', 'sil.days': '仅每周（可选）', 'sil.at': '起始时刻', 'sil.len': '窗口时长', 'sil.create': '创建',
    'sst.pending': '待生效', 'sst.active': '生效中', 'sst.expired': '已结束', 'inc.silenced': '已静默', 'inc.inhibited': '已抑制（仅通知运维）', 'inc.verdict': '研判', 'vk.sensor_fault_likely': '疑似仪器故障', 'vk.pollution_confirmed': '污染已确认', 'inc.confidence': '置信度',
    'day.mon': '一', 'day.tue': '二', 'day.wed': '三', 'day.thu': '四', 'day.fri': '五', 'day.sat': '六', 'day.sun': '日',
    // The river map (#/map) and the predicted windows of the site chart (docs/dashboard.md).
    'nav.map': '河流地图', 'map.title': '河流地图（按点位坐标绘制）', 'map.at': '时刻', 'map.space': '应急空间', 'map.plumes': '污染团预测',
    'map.noplume': '当前无污染团预测', 'map.nocoords': '点位缺少坐标，无法绘制地图', 'map.front': '前锋', 'map.now': '当前位置', 'col.route': '来源 → 预测点位',
    'space.reservoir': '水库', 'space.sluice': '闸坝', 'space.diversion': '导流渠', 'space.pond': '应急池', 'space.capacity': '容量',
    'win.title': '预测窗口', 'win.band': '可能范围（最早—最晚）', 'win.core': '预计（前锋—回落）', 'win.peak': '预计峰值', 'win.now': '现在',
    'win.earliest': '最早到达', 'win.leading': '预计到达', 'win.trailing': '预计回落', 'win.latest': '最晚回落',
    'map.intercept': '建议拦截点', 'map.actBy': '处置时限', 'map.left': '剩余', 'map.passed': '已错过',
  },
  en: {
    'app.title': 'Changji river water-quality warning', 'nav.overview': 'Overview', 'nav.incidents': 'Incidents', 'nav.reports': 'Reports',
    'token.title': 'Sign in', 'token.help': 'Enter your access token (issued by the administrator in the tokens file).', 'token.save': 'Save',
    'token.bad': 'Invalid token', 'who.none': 'Sign in',
    'c.sites': 'Sites', 'c.exceeding': 'Exceeding', 'c.offline': 'Offline', 'c.incidents': 'Open incidents',
    'legend': 'Water class', 'legend.none': 'no data / n.a.',
    'overview.schematic': 'River schematic (south → north, by river km)', 'overview.sites': 'Sites',
    'col.site': 'Site', 'col.kind': 'Kind', 'col.river': 'River', 'col.class': 'Class', 'col.target': 'Target',
    'col.status': 'Status', 'col.pollutants': 'Main pollutants', 'col.last': 'Latest data', 'col.param': 'Parameter',
    'col.value': 'Value', 'col.time': 'Time', 'col.limit': 'Limit',
    'kind.section': 'Section', 'kind.drinking_source': 'Drinking-water source', 'kind.outfall': 'Outfall',
    'status.normal': 'normal', 'status.exceeding': 'exceeding', 'status.offline': 'offline', 'status.no_data': 'no data',
    'site.latest': 'Latest values', 'site.series': 'Time series', 'site.events': 'Events', 'site.csv': 'Download CSV',
    'site.target': 'Target class', 'site.jurisdiction': 'Jurisdiction', 'site.km': 'km', 'site.nodata': 'No data in this range',
    'range.24h': '24 h', 'range.7d': '7 days', 'range.30d': '30 days', 'range.1y': '1 year',
    'inc.active': 'Active', 'inc.all': 'All', 'inc.none': 'No incidents', 'inc.opened': 'Opened', 'inc.level': 'Level',
    'inc.jur': 'Jurisdictions', 'inc.site': 'Origin', 'inc.acked': 'Acknowledged', 'inc.ack': 'Acknowledge', 'inc.resolve': 'Resolve', 'inc.resolve.confirm': 'Resolve this incident? Everyone notified will be sent the End of Alert.',
    'inc.receipt': 'Confirm receipt', 'inc.done': 'Done', 'inc.log': 'Audit trail', 'inc.notifications': 'Notifications', 'inc.stationCommands': 'Station commands', 'inc.sources': 'Upstream sources, by evidence', 'src.none': 'No upstream site to rank', 'src.score': 'Score', 'src.lag': 'Lag (seen / expected)', 'src.evidence': 'Evidence', 'scmd.raise_frequency': 'Raise frequency', 'scmd.restore_frequency': 'Restore frequency', 'scmd.retain_sample': 'Retain a sample', 'scmd.sync_clock': 'Set the clock', 'scmd.read_clock': 'Read the clock', 'scmd.query_info': 'Field-machine information', 'scmd.rotate_key': 'Rotate the SM4 key',
    'inc.drill': 'Start drill', 'inc.drill.site': 'Drill site', 'inc.drill.param': 'Parameter', 'inc.drillTag': 'drill',
    'inc.report.follow_up': 'Follow-up', 'inc.report.final': 'Final report', // GET …/report (#21)
    'step.relation': 'Relation', 'step.jur': 'Jurisdiction', 'step.owner': 'Owner', 'step.action': 'Action', 'step.deadline': 'Deadline',
    'inc.back': 'All incidents',
    'role.river_chief_office': 'River chief office', 'role.eeb': 'Ecology and environment bureau', 'role.emergency': 'Emergency management bureau',
    'role.water_plant': 'Water plant', 'role.source_monitor': 'Source protection station', 'role.maintenance': 'Maintenance contractor',
    'role.discharger_supervisor': 'Discharge supervision',
    'step.receipt': 'Receipt', 'step.done': 'Done',
    'rel.self': 'self', 'rel.upstream': 'upstream', 'rel.downstream': 'downstream', 'rel.downstream_to_intake': 'intake downstream',
    'ist.open': 'open', 'ist.acknowledged': 'acknowledged', 'ist.resolved': 'resolved', 'ist.closed': 'closed',
    'cmd.applied': 'Applied', 'cmd.pending': 'Sent; waiting for the responder to apply it', 'cmd.failed': 'Failed',
    'rep.year': 'Year', 'rep.indicators': 'Plan indicators (table 2-1)', 'rep.indicator': 'Indicator', 'rep.value': 'Actual',
    'rep.targetv': '2025 target', 'rep.meets': 'Met', 'rep.corrected': 'Corrected readings', 'rep.months': 'Monthly class of each site', 'rep.period': 'Period',
    'rep.rivers': 'River ratings (2011 method)', 'rep.method': 'Method', 'rep.share3': 'Share Ⅰ–Ⅲ',
    'rep.csv': 'Download CSV', 'rep.sections': 'Sections', 'rep.yes': 'met', 'rep.no': 'not met', 'rep.na': '—', 'rep.insufficient': 'insufficient data',
    'rep.nondetect': 'Non-detects (at half the limit)', 'rep.source': 'Data', 'src.automatic': 'automatic', 'src.manual': 'manual', 'src.mixed': 'automatic + manual',
    'rep.setaside': 'automatic data take precedence; manual samples not used',
    'mon.title': 'Monthly water-quality report', 'mon.section': 'Monthly reports (compliance by month)', 'mon.open': 'report', 'mon.city': 'City', 'mon.print': 'Print',
    'mon.csv': 'Download report CSV', 'mon.month': 'Month', 'mon.scope': 'Scope', 'mon.running': 'The month is running: figures so far', 'mon.generated': 'Generated',
    'mon.rated': 'Sites rated', 'mon.meeting': 'Meeting target', 'mon.share': 'Share meeting', 'mon.improved': 'Better', 'mon.worse': 'Worse',
    'mon.incidents': 'Incidents', 'mon.drills': 'Drills', 'mon.openEnd': 'Open at month end', 'mon.classes': 'Sites by class', 'mon.sites': 'Sections and sources',
    'mon.prev': 'Month before', 'mon.change': 'Change', 'ch.better': 'better', 'ch.worse': 'worse', 'ch.same': 'same', 'mon.incList': 'Incidents of the month',
    'mon.drillList': 'Drills of the month', 'mon.incTitle': 'Incident', 'mon.none': 'none', 'mon.level': 'Level', 'mon.opened': 'Opened', 'mon.status': 'Status', 'mon.met': 'Deadlines met',
    'mon.compliance': 'Meeting (met/rated)',
    'method.mean_concentration': 'mean concentration', 'method.class_share': 'class share',
    'drill.year': 'Emergency drills of the year', 'drill.list': 'Drill scores (each step)', 'drill.jur': 'Jurisdiction', 'drill.drills': 'Drills',
    'drill.steps': 'Steps (met/late/missed)', 'drill.share': 'Deadlines met', 'drill.receipt': 'Median to receipt', 'drill.ack': 'Median to acknowledge',
    'drill.done': 'Median to done', 'drill.trend': 'Against previous half-year', 'drill.csv': 'Download drills CSV', 'drill.listcsv': 'Download scores CSV', 'drill.none': 'No drills this year',
    'drill.opened': 'Started', 'drill.title': 'Drill', 'drill.ackAfter': 'Acknowledged after', 'drill.receiptAfter': 'Receipt after', 'drill.doneAfter': 'Done after', 'drill.allowed': 'Deadline',
    'drill.outcome': 'Outcome', 'drill.min': 'min',
    'out.met': 'met', 'out.late': 'late', 'out.missed': 'missed', 'out.pending': 'pending',
    'trend.improved': 'improved', 'trend.worse': 'worse', 'trend.unchanged': 'unchanged', 'trend.no_data': 'no comparison',
    'rep.skill': 'Plume predictions checked, per reach', 'skill.reach': 'Reach (origin → predicted site)', 'skill.checked': 'Checked', 'skill.verified': 'Verified', 'skill.refuted': 'Refuted',
    'skill.hit': 'Hit rate', 'skill.mean': 'Mean timing error (min)', 'skill.abs': 'Mean absolute error (min)', 'skill.none': 'No predictions checked in this period',
    'skill.rise': 'Rise error (min)', 'skill.riseAbs': 'Abs. rise error (min)', 'skill.peakTime': 'Peak-time error (min)', 'skill.peak': 'Peak error (mg/L)',
    'skill.duration': 'Duration error (min)', 'skill.note': 'Timing error: observed rise − announced arrival. Rise, peak-time, peak and duration errors: mean of observed − the window (expected leading edge, peak, leading to trailing), over the checks that carry the verification\'s errors; "-" when none. Negative: early (low); positive: late (high).',
    'ev.exceedance.opened': 'exceedance', 'ev.exceedance.updated': 'exceedance update', 'ev.exceedance.cleared': 'exceedance cleared',
    'ev.prediction.issued': 'prediction', 'ev.prediction.cleared': 'prediction cleared', 'ev.quality.suspect': 'suspect data',
    'ev.station.offline': 'station offline', 'ev.station.online': 'station online',
    'ev.prediction.verified': 'prediction verified', 'ev.prediction.refuted': 'prediction refuted',
    'err.forbidden': 'Not allowed', 'err.load': 'Failed to load', 'back': '← Overview', 'none': 'none',
    'nav.silences': 'Silences', 'sil.live': 'Active and pending', 'sil.expired': 'Ended', 'sil.none': 'No silences',
    'sil.state': 'State', 'sil.matchers': 'Matchers', 'sil.starts': 'Starts', 'sil.ends': 'Ends', 'sil.by': 'Created by',
    'sil.comment': 'Comment', 'sil.weekly': 'weekly', 'sil.expire': 'Expire', 'sil.expire.confirm': 'Expire this silence? The notifications it holds go out at once.',
    'sil.new': 'New silence / maintenance window', 'sil.site': 'Site', 'sil.param': 'Parameter (optional)', 'sil.hours': 'Hours',
    'sil.eor': 'End when the incident resolves', 'sil.days': 'Only weekly on (optional)', 'sil.at': 'From', 'sil.len': 'Window', 'sil.create': 'Create',
    'sst.pending': 'pending', 'sst.active': 'active', 'sst.expired': 'ended', 'inc.silenced': 'silenced', 'inc.inhibited': 'inhibited (maintenance only)', 'inc.verdict': 'Verdict', 'vk.sensor_fault_likely': 'sensor fault likely', 'vk.pollution_confirmed': 'pollution confirmed', 'inc.confidence': 'confidence',
    'day.mon': 'Mon', 'day.tue': 'Tue', 'day.wed': 'Wed', 'day.thu': 'Thu', 'day.fri': 'Fri', 'day.sat': 'Sat', 'day.sun': 'Sun',
    'nav.map': 'Map', 'map.title': "River map (from the sites' coordinates)", 'map.at': 'At', 'map.space': 'Emergency space', 'map.plumes': 'Plume predictions',
    'map.noplume': 'No open plume prediction', 'map.nocoords': 'The sites have no coordinates to draw a map from', 'map.front': 'leading edge at', 'map.now': 'Now', 'col.route': 'Origin → predicted site',
    'space.reservoir': 'reservoir', 'space.sluice': 'sluice', 'space.diversion': 'diversion channel', 'space.pond': 'emergency pond', 'space.capacity': 'capacity',
    'win.title': 'Predicted window', 'win.band': 'band (earliest–latest)', 'win.core': 'expected (leading–trailing)', 'win.peak': 'expected peak', 'win.now': 'now',
    'win.earliest': 'Earliest', 'win.leading': 'Leading edge', 'win.trailing': 'Trailing edge', 'win.latest': 'Latest',
    'map.intercept': 'Intercept at', 'map.actBy': 'act by', 'map.left': 'left', 'map.passed': 'passed',
  },
};
const DESCRIPTOR_EN = { '优': 'excellent', '良好': 'good', '轻度污染': 'slightly polluted', '中度污染': 'moderately polluted', '重度污染': 'heavily polluted' };

const state = {
  lang: localStorage.getItem('rw.lang') || 'zh',
  token: localStorage.getItem('rw.token') || '',
  me: null,
  range: '24h',
  incFilter: 'active',
  silFilter: 'live',
  year: null,
  source: null,
};

const t = (k) => (I18N[state.lang][k] ?? I18N.zh[k] ?? k);
// roleName is a role's name in the language shown; a role the dashboard does not know shows its id.
const roleName = (id) => (I18N[state.lang]['role.' + id] ?? I18N.zh['role.' + id] ?? id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const $ = (sel, root = document) => root.querySelector(sel);
const view = () => $('#view');
const classColor = (c) => CLASS_COLOR[c] || NO_CLASS;
const roman = (c) => ROMAN[c] || '-';
// Colours: the Content-Security-Policy allows no inline style, so markup carries a colour
// in data-bg / data-fg and paint() sets it through the CSSOM, after checking that it is a
// colour (L8: a server string never becomes CSS or markup).
const safeColor = (c) => (/^#[0-9a-fA-F]{3,8}$/.test(String(c)) ? String(c) : NO_CLASS);
function paint(root) {
  root.querySelectorAll('[data-bg],[data-fg]').forEach((el) => {
    if (el.dataset.bg) el.style.backgroundColor = safeColor(el.dataset.bg);
    if (el.dataset.fg) el.style.color = safeColor(el.dataset.fg);
  });
}
new MutationObserver(() => paint(document.body)).observe(document.body, { childList: true, subtree: true });
const descriptor = (d) => (state.lang === 'en' ? DESCRIPTOR_EN[d] || d : d);

function fmtTime(iso, withDate = true) {
  if (!iso) return '';
  const d = new Date(iso);
  const opts = { timeZone: TZ, hour: '2-digit', minute: '2-digit', hour12: false };
  if (withDate) Object.assign(opts, { year: 'numeric', month: '2-digit', day: '2-digit' });
  return new Intl.DateTimeFormat(state.lang === 'en' ? 'en-GB' : 'zh-CN', opts).format(d);
}
function fmtNum(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toPrecision(2);
}
function toast(msg) {
  const el = $('#toast');
  el.textContent = msg;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 3500);
}

// ---- API ----------------------------------------------------------------------------------
class HTTPError extends Error {
  constructor(status, body) { super(body?.error || `HTTP ${status}`); this.status = status; this.body = body; }
}
async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Idempotency-Key'] = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  }
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 401) { askToken(t('token.bad')); throw new HTTPError(401, await res.json().catch(() => null)); }
  if (raw) { if (!res.ok) throw new HTTPError(res.status, await res.json().catch(() => null)); return res; }
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new HTTPError(res.status, data);
  return { status: res.status, data };
}
async function download(path, fallbackName) {
  const res = await api(path, { raw: true });
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const name = (cd.match(/filename="([^"]+)"/) || [])[1] || fallbackName;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// ---- token and identity -------------------------------------------------------------------
function askToken(err = '') {
  const dlg = $('#token-dialog');
  $('#token-error').textContent = err;
  $('#token-input').value = '';
  if (!dlg.open) dlg.showModal();
}
$('#token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token-input').value.trim();
  localStorage.setItem('rw.token', state.token);
  $('#token-dialog').close();
  start();
});
$('#who').addEventListener('click', () => askToken());
$('#lang').addEventListener('click', () => {
  state.lang = state.lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('rw.lang', state.lang);
  applyStatic();
  route();
});
function applyStatic() {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = `riverwatch · ${t('app.title')}`;
  document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $('#lang').textContent = state.lang === 'zh' ? 'EN' : '中文';
  $('#who').textContent = state.me ? `${state.me.name} · ${state.me.role}` : t('who.none');
}
const can = (what) => !!state.me && state.me.can.includes(what);
const sees = (j) => !!state.me && (state.me.jurisdictions.includes('*') || state.me.jurisdictions.includes(j));

// ---- live refresh (Server-Sent Events) ----------------------------------------------------
function connectStream() {
  if (state.source) state.source.close();
  const es = new EventSource(`/api/v1/stream?access_token=${encodeURIComponent(state.token)}`);
  state.source = es;
  const live = $('#live');
  es.addEventListener('hello', () => { live.dataset.state = 'on'; });
  es.addEventListener('change', () => { live.dataset.state = 'on'; scheduleRefresh(); });
  es.onerror = () => { live.dataset.state = 'off'; };
}
let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => route(true), 400);
}

// ---- router -------------------------------------------------------------------------------
const caches = { rivers: null };
async function route(isRefresh = false) {
  const hash = location.hash || '#/';
  const [, page, arg] = hash.match(/^#\/([^/]*)\/?(.*)$/) || [];
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active',
    a.dataset.nav === (page === 'site' || !page ? 'overview' : page === 'monthly' ? 'reports' : page)));
  try {
    if (!state.token) { askToken(); return; }
    switch (page) {
      case 'site': await renderSite(decodeURIComponent(arg), isRefresh); break;
      case 'incidents': await renderIncidents(decodeURIComponent(arg || '')); break;
      case 'reports': await renderReports(isRefresh); break;
      case 'monthly': await renderMonthly(decodeURIComponent(arg)); break;
      case 'silences': await renderSilences(isRefresh); break;
      case 'map': await renderMap(decodeURIComponent(arg || '')); break;
      case 'backtest': await renderBacktest(decodeURIComponent(arg || '')); break;
      default: await renderOverview(isRefresh);
    }
    document.body.dataset.ready = page || 'overview';
  } catch (e) {
    if (e.status === 401) return;
    view().innerHTML = `<div class="card error">${esc(e.status === 403 ? t('err.forbidden') : t('err.load'))}: ${esc(e.message)}</div>`;
  }
}
window.addEventListener('hashchange', () => route());

// ---- overview -----------------------------------------------------------------------------
function legend() {
  const items = [['I', 'Ⅰ～Ⅱ', '#5ab1ef'], ['III', 'Ⅲ', '#42cc70'], ['IV', 'Ⅳ', '#e8dd3e'], ['V', 'Ⅴ', '#f5a524'], ['劣V', '劣Ⅴ', '#ed5466']];
  return `<div class="legend">${esc(t('legend'))}: ${items.map(([, l, c]) => `<span><i data-bg="${esc(c)}"></i>${l}</span>`).join('')}
    <span><i data-bg="${esc(NO_CLASS)}"></i>${esc(t('legend.none'))}</span></div>`;
}
function badge(cls) {
  if (!cls) return '<span class="badge none">-</span>';
  return `<span class="badge" data-bg="${esc(classColor(cls))}">${roman(cls)}</span>`;
}
async function renderOverview() {
  const [sites, rivers] = await Promise.all([api('/api/v1/sites'), caches.rivers || api('/api/v1/rivers')]);
  caches.rivers = rivers;
  const s = sites.data.summary;
  const items = sites.data.items;
  view().innerHTML = `
    <div class="counters">
      <div class="counter"><div class="n" data-testid="count-sites">${s.sites}</div><div class="l">${esc(t('c.sites'))}</div></div>
      <div class="counter ${s.exceeding ? 'alert' : ''}"><div class="n" data-testid="count-exceeding">${s.exceeding}</div><div class="l">${esc(t('c.exceeding'))}</div></div>
      <div class="counter"><div class="n" data-testid="count-offline">${s.offline}</div><div class="l">${esc(t('c.offline'))}</div></div>
      <div class="counter ${s.open_incidents ? 'alert' : ''}"><div class="n" data-testid="count-incidents"><a href="#/incidents">${s.open_incidents}</a></div><div class="l">${esc(t('c.incidents'))}</div></div>
    </div>
    <div class="overview">
      <div class="card"><h2 class="flush">${esc(t('overview.schematic'))}</h2>${schematic(rivers.data, items)}${legend()}</div>
      <div class="card"><h2 class="flush">${esc(t('overview.sites'))}</h2>
        <table data-testid="site-table"><thead><tr><th>${esc(t('col.site'))}</th><th>${esc(t('col.class'))}</th><th>${esc(t('col.target'))}</th><th>${esc(t('col.status'))}</th><th>${esc(t('col.pollutants'))}</th></tr></thead>
        <tbody>${items.map((v) => `<tr data-site-row="${esc(v.id)}">
          <td><a href="#/site/${encodeURIComponent(v.id)}">${esc(v.name)}</a><div class="muted">${esc(v.id)} · ${esc(t('kind.' + v.kind))}</div></td>
          <td>${badge(v.class)} <span class="muted">${esc(descriptor(v.descriptor))}</span></td>
          <td>${v.target_class ? roman(v.target_class) : esc(v.limits || '')}</td>
          <td><span class="tag ${esc(v.status)}">${esc(t('status.' + v.status))}</span></td>
          <td>${esc(v.main_pollutants.join('、'))}${v.exceedances.map((e) => ` <span class="tag bad">${esc(e.parameter)} ${fmtNum(e.value)}</span>`).join('')}</td>
        </tr>`).join('')}</tbody></table>
      </div>
    </div>`;
  view().querySelectorAll('.schematic .site').forEach((g) => g.addEventListener('click', () => { location.hash = `#/site/${encodeURIComponent(g.dataset.site)}`; }));
}

// schematic draws each river as a vertical line, south (km 0) at the bottom and north at the
// top, sites placed by km; sections and sources as circles coloured by class, outfalls as
// squares beside the river.
function schematic(rivers, sites) {
  const W = 820, H = 560, top = 40, bottom = 60;
  const list = rivers.items.filter((r) => r.sites.length > 0);
  const byId = Object.fromEntries(sites.map((s) => [s.id, s]));
  const colW = W / Math.max(list.length, 1);
  let out = `<svg class="schematic" viewBox="0 0 ${W} ${H}" role="img" data-testid="schematic" xmlns="http://www.w3.org/2000/svg">
    <defs><marker id="flow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6aaee6"/></marker></defs>
    <g transform="translate(24,34)"><path d="M0,-16 L7,4 L0,0 L-7,4 z" fill="#12355b"/><text x="12" y="0" font-size="12" fill="#12355b">${state.lang === 'zh' ? '北' : 'N'}</text></g>`;
  list.forEach((r, i) => {
    const x = colW * i + Math.min(210, colW * 0.5);
    const kms = r.sites.map((id) => byId[id]?.km ?? 0);
    const lo = Math.max(0, Math.min(...kms) - 15), hi = Math.max(...kms) + 15;
    const y = (km) => top + (1 - (km - lo) / (hi - lo)) * (H - top - bottom);
    out += `<line class="river" x1="${x}" y1="${y(lo)}" x2="${x}" y2="${y(hi) - 6}" marker-end="url(#flow)"/>
      <text class="river-name" x="${x}" y="${H - 22}" text-anchor="middle">${esc(r.name)}</text>
      <text x="${x}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#6b7a8c">${esc(t('site.km'))} ${fmtNum(lo)}–${fmtNum(hi)}</text>`;
    r.sites.forEach((id) => {
      const s = byId[id];
      if (!s) return;
      const sy = y(s.km);
      const fill = s.kind === 'outfall' ? (s.status === 'exceeding' ? '#ed5466' : '#8895a7') : classColor(s.class);
      const label = `${esc(s.name)}`;
      const cls = s.kind === 'outfall' ? '' : roman(s.class);
      const tip = `${s.name} (${s.id}) ${s.class ? roman(s.class) + ' ' + descriptor(s.descriptor) : ''} ${t('status.' + s.status)}`;
      if (s.kind === 'outfall') {
        out += `<g class="site" data-site="${esc(s.id)}" data-kind="outfall" data-status="${esc(s.status)}" tabindex="0"><title>${esc(tip)}</title>
          <line x1="${x - 34}" y1="${sy}" x2="${x - 6}" y2="${sy}" stroke="#8895a7" stroke-width="2" stroke-dasharray="3 2"/>
          <rect class="dot" x="${x - 46}" y="${sy - 8}" width="16" height="16" fill="${fill}"/>
          <text x="${x - 52}" y="${sy + 4}" text-anchor="end">${label}</text></g>`;
        return;
      }
      out += `<g class="site" data-site="${esc(s.id)}" data-kind="${esc(s.kind)}" data-class="${esc(s.class)}" data-status="${esc(s.status)}" tabindex="0"><title>${esc(tip)}</title>
        ${s.status === 'exceeding' ? `<circle class="ring" cx="${x}" cy="${sy}" r="17"/>` : ''}
        ${s.kind === 'drinking_source' ? `<circle class="src" cx="${x}" cy="${sy}" r="14"/>` : ''}
        <circle class="dot" cx="${x}" cy="${sy}" r="11" fill="${fill}" data-testid="site-dot"/>
        <text x="${x + 22}" y="${sy - 2}">${label}</text>
        <text class="cls" x="${x + 22}" y="${sy + 13}" fill="${s.class ? '#1f2d3d' : '#8895a7'}">${cls}${s.class ? ' ' + esc(descriptor(s.descriptor)) : ' ' + esc(t('status.' + s.status))}</text></g>`;
    });
  });
  return out + '</svg>';
}

// ---- site page ----------------------------------------------------------------------------
const RANGES = { '24h': 24 * 3600e3, '7d': 7 * 24 * 3600e3, '30d': 30 * 24 * 3600e3, '1y': 365 * 24 * 3600e3 };
async function renderSite(id) {
  const to = new Date(), from = new Date(to - RANGES[state.range]);
  const q = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
  const [site, readings, events, incidents] = await Promise.all([
    api(`/api/v1/sites/${encodeURIComponent(id)}`),
    api(`/api/v1/sites/${encodeURIComponent(id)}/readings?${q}`),
    api(`/api/v1/events?site=${encodeURIComponent(id)}&${q}&limit=500`),
    api('/api/v1/incidents?status=active').then((r) => r.data.items, () => []),
  ]);
  const s = site.data, rd = readings.data, evs = events.data.items;
  const wins = siteWindows(id, evs, incidents);
  // A chart with a window ahead runs on past now to show it; the others end now.
  const chartTo = (sr) => windowsEnd(wins.filter((w) => w.parameter === sr.parameter), to);
  view().innerHTML = `
    <p><a href="#/">${esc(t('back'))}</a></p>
    <h1 data-testid="site-title">${esc(s.name)} <span class="muted">${esc(s.id)}</span> ${badge(s.class)} <span class="tag ${esc(s.status)}">${esc(t('status.' + s.status))}</span></h1>
    <div class="card"><div class="toolbar">
      <span>${esc(t('kind.' + s.kind))} · ${esc(s.river_name)} ${esc(t('site.km'))} ${fmtNum(s.km)} · ${esc(t('site.jurisdiction'))}: ${esc(s.jurisdiction_name)}</span>
      <span>${s.target_class ? `${esc(t('site.target'))}: ${roman(s.target_class)}` : esc(s.limits || '')}</span>
      <span>${s.class ? `${esc(t('col.class'))}: ${roman(s.class)} ${esc(descriptor(s.descriptor))}` : ''}</span>
      <span>${s.main_pollutants.length ? `${esc(t('col.pollutants'))}: ${esc(s.main_pollutants.join('、'))}` : ''}</span>
    </div>
    <h2>${esc(t('site.latest'))}</h2>
    <table><thead><tr><th>${esc(t('col.param'))}</th><th class="num">${esc(t('col.value'))}</th><th>${esc(t('col.class'))}</th><th class="num">${esc(t('col.limit'))}</th><th>${esc(t('col.time'))}</th></tr></thead>
    <tbody>${(s.latest || []).map((l) => `<tr><td>${esc(state.lang === 'en' ? l.name_en : l.name)} <span class="muted">${esc(l.parameter)}</span></td>
      <td class="num ${l.meets === false ? 'overdue' : ''}">${fmtNum(l.value)}${l.below_dl ? '<span data-testid="below-dl">L</span>' : ''} ${esc(l.unit)}</td><td>${l.class ? badge(l.class) : ''}</td>
      <td class="num">${l.limit ? fmtNum(l.limit) : ''}</td><td>${esc(fmtTime(l.observed_at))}${l.flag !== 'N' ? ` <span class="tag warn">${esc(l.flag)}</span>` : ''}</td></tr>`).join('')}</tbody></table></div>
    <div class="toolbar">
      ${Object.keys(RANGES).map((r) => `<button type="button" class="seg ${r === state.range ? 'on' : ''}" data-range="${esc(r)}">${esc(t('range.' + r))}</button>`).join('')}
      <span class="muted">${esc(rd.resolution)}</span><span class="grow"></span>
      <button type="button" class="btn secondary" id="csv">${esc(t('site.csv'))}</button>
    </div>
    ${wins.length ? windowLegend() : ''}
    <div class="charts">${rd.series.length ? rd.series.map((sr) => chart(sr, evs, from, chartTo(sr), wins)).join('') : `<p class="muted">${esc(t('site.nodata'))}</p>`}</div>
    <h2>${esc(t('site.events'))}</h2>
    <div class="card"><table><thead><tr><th>${esc(t('col.time'))}</th><th></th><th>${esc(t('col.param'))}</th><th class="num">${esc(t('col.value'))}</th><th class="num">${esc(t('col.limit'))}</th><th>${esc(t('col.class'))}</th></tr></thead>
    <tbody>${evs.map((e) => `<tr><td>${esc(fmtTime(e.observed_at))}</td><td><span class="tag" data-fg="${esc(evColor(e.type))}">${esc(t('ev.' + e.type))}</span></td>
      <td>${esc(e.parameter || '')}</td><td class="num">${fmtNum(e.value || e.predicted_value)}</td><td class="num">${e.limit ? fmtNum(e.limit) : ''}</td><td>${e.class ? badge(e.class) : ''}</td></tr>`).join('') || `<tr><td colspan="6" class="muted">${esc(t('none'))}</td></tr>`}</tbody></table></div>`;
  view().querySelectorAll('[data-range]').forEach((b) => b.addEventListener('click', () => { state.range = b.dataset.range; route(); }));
  $('#csv').addEventListener('click', () => download(`/api/v1/sites/${encodeURIComponent(id)}/readings?${q}&format=csv`, `${id}.csv`));
}
function evColor(type) {
  if (type.startsWith('exceedance.cleared') || type === 'prediction.cleared' || type === 'station.online') return '#2e9d5b';
  if (type.startsWith('exceedance')) return '#d64550';
  if (type.startsWith('prediction')) return '#d98c00';
  return '#6b7a8c';
}

// chart draws one parameter: class bands behind, the site's target dashed, min–max area for
// rollups, the value line, and event markers.
function chart(sr, events, from, to, wins = []) {
  const W = 640, H = 210, ml = 46, mr = 10, mt = 10, mb = 22;
  const pts = sr.points;
  const x = (ts) => ml + ((new Date(ts) - from) / (to - from)) * (W - ml - mr);
  let lo = Math.min(...pts.map((p) => p.min)), hi = Math.max(...pts.map((p) => p.max));
  const lim = sr.class_limits || [];
  if (sr.target !== undefined) { hi = Math.max(hi, sr.target * 1.1); lo = Math.min(lo, sr.target * 0.9); }
  if (sr.target_range) { lo = Math.min(lo, sr.target_range[0] - 0.5); hi = Math.max(hi, sr.target_range[1] + 0.5); }
  if (sr.limit_kind === 'upper') lo = Math.min(lo, 0);
  if (!(hi > lo)) { hi = lo + 1; }
  const pad = (hi - lo) * 0.08; hi += pad; lo = sr.limit_kind === 'upper' ? Math.max(lo, 0) : lo - pad;
  const y = (v) => mt + (1 - (v - lo) / (hi - lo)) * (H - mt - mb);
  const clampY = (v) => Math.min(H - mb, Math.max(mt, y(v)));
  let bands = '';
  if (lim.length === 5 && sr.limit_kind === 'upper') {
    const edges = [lo, ...lim, hi];
    CLASS_ORDER.forEach((c, i) => {
      const a = Math.max(edges[i], lo), b = Math.min(edges[i + 1], hi);
      if (b > a) bands += `<rect x="${ml}" width="${W - ml - mr}" y="${clampY(b)}" height="${clampY(a) - clampY(b)}" fill="${classColor(c)}" opacity=".2"><title>${roman(c)}</title></rect>`;
    });
  } else if (lim.length === 5 && sr.limit_kind === 'lower') {
    const edges = [hi, ...lim, lo];
    CLASS_ORDER.forEach((c, i) => {
      const a = Math.min(edges[i], hi), b = Math.max(edges[i + 1], lo);
      if (a > b) bands += `<rect x="${ml}" width="${W - ml - mr}" y="${clampY(a)}" height="${clampY(b) - clampY(a)}" fill="${classColor(c)}" opacity=".2"><title>${roman(c)}</title></rect>`;
    });
  } else if (sr.target_range) {
    const [a, b] = sr.target_range;
    bands += `<rect x="${ml}" width="${W - ml - mr}" y="${clampY(b)}" height="${clampY(a) - clampY(b)}" fill="${CLASS_COLOR.I}" opacity=".2"/>`;
  }
  const ticks = [];
  for (let i = 0; i <= 4; i++) ticks.push(lo + ((hi - lo) * i) / 4);
  const xt = [];
  for (let i = 0; i <= 5; i++) xt.push(new Date(from.getTime() + ((to - from) * i) / 5));
  const long = to - from > 3 * 24 * 3600e3;
  const axis = `<g class="axis">${ticks.map((v) => `<line x1="${ml}" x2="${W - mr}" y1="${y(v)}" y2="${y(v)}"/><text x="${ml - 4}" y="${y(v) + 3}" text-anchor="end">${fmtNum(v)}</text>`).join('')}
    ${xt.map((d) => `<text x="${x(d)}" y="${H - 6}" text-anchor="middle">${esc(long ? fmtTime(d.toISOString()).slice(0, 10) : fmtTime(d.toISOString(), false))}</text>`).join('')}</g>`;
  const path = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  const area = pts.length && pts[0].count > 1
    ? `<path class="range" d="${pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.max).toFixed(1)}`).join('')}${pts.slice().reverse().map((p) => `L${x(p.t).toFixed(1)},${y(p.min).toFixed(1)}`).join('')}Z"/>` : '';
  let target = '';
  if (sr.target !== undefined) target = `<line class="target" x1="${ml}" x2="${W - mr}" y1="${y(sr.target)}" y2="${y(sr.target)}"><title>${fmtNum(sr.target)}</title></line>`;
  if (sr.target_range) target = sr.target_range.map((v) => `<line class="target" x1="${ml}" x2="${W - mr}" y1="${y(v)}" y2="${y(v)}"/>`).join('');
  const marks = events.filter((e) => !e.parameter || e.parameter === sr.parameter).map((e) => {
    const ex = x(e.observed_at);
    if (ex < ml || ex > W - mr) return '';
    return `<g data-event="${esc(e.type)}"><line class="ev" x1="${ex}" x2="${ex}" y1="${mt}" y2="${H - mb}" stroke="${evColor(e.type)}"/>
      <path d="M${ex - 5},${mt} L${ex + 5},${mt} L${ex},${mt + 8} z" fill="${evColor(e.type)}"/><title>${esc(t('ev.' + e.type))} ${esc(fmtTime(e.observed_at))} ${fmtNum(e.value)}</title></g>`;
  }).join('');
  const name = state.lang === 'en' ? sr.name_en : sr.name;
  return `<div class="card chart" data-param="${esc(sr.parameter)}"><h3><span>${esc(name)} <span class="muted">${esc(sr.parameter)} · ${esc(sr.unit)}</span></span>
    <span class="muted">${sr.target !== undefined ? `${esc(t('col.target'))} ${fmtNum(sr.target)}` : ''}</span></h3>
    <svg viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">${bands}${windowMarks(wins, sr.parameter, x, mt, H - mb, ml, W - mr, new Date())}${axis}${area}${target}<path class="line" d="${path}"/>${marks}</svg></div>`;
}

// ---- incidents board ----------------------------------------------------------------------
// #/incidents is the board; #/incidents/<id> is one incident, the page a notification links
// to (a duty officer opens it on a phone from the WeCom or DingTalk message).
async function renderIncidents(only) {
  const status = state.incFilter === 'active' ? '?status=active' : '';
  if (!caches.rivers) caches.rivers = await api('/api/v1/rivers');
  const [list, sites] = await Promise.all([only ? null : api(`/api/v1/incidents${status}`), api('/api/v1/sites')]);
  const details = only ? [await api(`/api/v1/incidents/${encodeURIComponent(only)}`)]
    : await Promise.all(list.data.items.map((inc) => api(`/api/v1/incidents/${encodeURIComponent(inc.id)}`)));
  const names = Object.fromEntries(sites.data.items.map((s) => [s.id, s.name]));
  const juris = Object.fromEntries((caches.rivers?.data.jurisdictions || []).map((j) => [j.id, j.name]));
  // A refresh keeps the audit trails that were open.
  const opened = new Set([...document.querySelectorAll('article[data-incident] details[open]:not([data-sources])')].map((d) => d.closest('article').dataset.incident));
  view().innerHTML = only ? `
    <div class="toolbar"><a href="#/incidents" data-testid="back">← ${esc(t('inc.back'))}</a></div>
    <div class="incidents single" data-testid="incident-page">${incidentCard(details[0].data, names, juris)}</div>` : `
    <div class="toolbar">
      <button type="button" class="seg ${state.incFilter === 'active' ? 'on' : ''}" data-filter="active">${esc(t('inc.active'))}</button>
      <button type="button" class="seg ${state.incFilter === 'all' ? 'on' : ''}" data-filter="all">${esc(t('inc.all'))}</button>
      <span class="grow"></span>
      ${can('drill') ? `<label>${esc(t('inc.drill.site'))} <select id="drill-site">${sites.data.items.map((s) => `<option value="${esc(s.id)}">${esc(s.name)}</option>`).join('')}</select></label>
        <label>${esc(t('inc.drill.param'))} <select id="drill-param">${['codmn', 'nh3n', 'tp', 'cod', 'do'].map((p) => `<option>${p}</option>`).join('')}</select></label>
        <button type="button" class="btn secondary" id="drill" data-testid="drill">${esc(t('inc.drill'))}</button>` : ''}
    </div>
    <div class="incidents" data-testid="incident-board">${details.map((d) => incidentCard(d.data, names, juris)).join('') || `<p class="muted">${esc(t('inc.none'))}</p>`}</div>`;
  view().querySelectorAll('article[data-incident]').forEach((a) => { if (opened.has(a.dataset.incident)) a.querySelector('details').open = true; });
  view().querySelectorAll('[data-filter]').forEach((b) => b.addEventListener('click', () => { state.incFilter = b.dataset.filter; route(); }));
  view().querySelectorAll('[data-action]').forEach((b) => b.addEventListener('click', () => act(b)));
  view().querySelectorAll('[data-report]').forEach((b) => b.addEventListener('click', () => download(`/api/v1/incidents/${encodeURIComponent(b.dataset.incident)}/report?kind=${b.dataset.report}&format=text`, `report-${b.dataset.incident}-${b.dataset.report}.txt`)));
  view().querySelectorAll('details[data-sources]').forEach((d) => d.addEventListener('toggle', () => { if (d.open && !d.dataset.loaded) loadSources(d, names); }));
  $('#drill')?.addEventListener('click', (e) => command(e.target, '/api/v1/drills', { site: $('#drill-site').value, parameter: $('#drill-param').value }));
}
// escalatedTo reads a step's escalated_to ("jurisdiction/role,…", ids) as names.
function escalatedTo(to, juris) {
  return (to || '').split(',').filter(Boolean).map((jr) => {
    const [j, r] = jr.split('/');
    return (juris[j] || j) + (r ? roleName(r) : '');
  }).join('、');
}
function incidentCard(d, names, juris) {
  const inc = d.incident;
  const now = Date.now();
  const active = inc.status === 'open' || inc.status === 'acknowledged';
  const steps = (inc.steps || []).map((st) => {
    const overdue = !st.done_at && new Date(st.deadline) < now && active;
    const receipt = st.receipt_at ? `<span class="done">✓ ${esc(fmtTime(st.receipt_at))}</span>`
      : st.confirm_receipt ? (active && can('confirm_receipt') && sees(st.jurisdiction)
        ? `<button type="button" class="btn secondary" data-action="receipt" data-incident="${esc(inc.id)}" data-step="${esc(st.id)}">${esc(t('inc.receipt'))}</button>` : '<span class="muted">…</span>') : '';
    const done = st.done_at ? `<span class="done">✓ ${esc(fmtTime(st.done_at))}</span>`
      : active && can('step_done') && sees(st.jurisdiction)
        ? `<button type="button" class="btn secondary" data-action="done" data-incident="${esc(inc.id)}" data-step="${esc(st.id)}">${esc(t('inc.done'))}</button>` : '<span class="muted">…</span>';
    // data-label names each cell where the table becomes a list (a phone, app.css).
    const cell = (key, html, cls = '') => `<td data-label="${esc(t(key))}"${cls ? ` class="${esc(cls)}"` : ''}>${html}</td>`;
    return `<tr data-step="${esc(st.id)}">${cell('step.relation', esc(t('rel.' + st.relation)))}${cell('step.jur', esc(juris[st.jurisdiction] || st.jurisdiction))}
      <td data-label="${esc(t('step.owner'))}" data-testid="step-role" title="${esc(st.role)}">${esc(roleName(st.role))}</td>
      ${cell('step.action', `${esc(st.action)}${st.escalated_at ? ` <span class="tag bad" data-testid="escalated-to" title="${esc(st.escalated_to || '')}">↑ ${esc(escalatedTo(st.escalated_to, juris))}</span>` : ''}`, 'action')}
      ${cell('step.deadline', esc(fmtTime(st.deadline)), overdue ? 'overdue' : '')}${cell('step.receipt', receipt)}${cell('step.done', done)}</tr>`;
  }).join('');
  const buttons = [];
  // Acknowledging and resolving belong to the origin's jurisdiction (docs/security.md): a
  // token sees the origin site only when it holds that jurisdiction.
  const owns = inc.site in names;
  if (inc.status === 'open' && can('acknowledge') && owns) buttons.push(`<button type="button" class="btn" data-action="ack" data-incident="${esc(inc.id)}" data-testid="ack">${esc(t('inc.ack'))}</button>`);
  if (active && can('resolve') && owns) buttons.push(`<button type="button" class="btn danger" data-action="resolve" data-incident="${esc(inc.id)}">${esc(t('inc.resolve'))}</button>`);
  // The eeb's reports as text (pkg/incidentreport): 续报 any time, 处理结果报告 once it has ended;
  // a row of their own, so that a phone's action row keeps its width.
  const reports = (active ? ['follow_up'] : ['follow_up', 'final']).map((k) => `<button type="button" class="btn secondary" data-report="${esc(k)}" data-incident="${esc(inc.id)}" data-testid="report-${esc(k)}">${esc(t('inc.report.' + k))}</button>`);
  // The acknowledgement in force, else the last one (it expired on resolve or re-open).
  const ack = inc.acked_at ? { at: inc.acked_at, by: inc.acked_by } : (inc.acknowledgements || []).slice(-1)[0];
  return `<article class="card incident ${esc(inc.status)}" data-incident="${esc(inc.id)}" data-status="${esc(inc.status)}">
    <header><div><h3>${esc(inc.title)} ${inc.drill ? `<span class="tag warn">${esc(t('inc.drillTag'))}</span>` : ''}</h3>
      <div class="meta"><span>${esc(t('inc.opened'))} ${esc(fmtTime(inc.opened_at))}</span><span>${esc(t('inc.level'))} ${esc(inc.level)}</span>
      <span>${esc(t('inc.site'))} <a href="#/site/${encodeURIComponent(inc.site)}">${esc(names[inc.site] || inc.site)}</a></span>
      <span>${esc(t('inc.jur'))}: ${esc((inc.jurisdictions || []).map((j) => juris[j] || j).join('、'))}</span>
      ${ack ? `<span data-testid="acked">${esc(t('inc.acked'))} ${esc(fmtTime(ack.at))}${ack.by ? ' ' + esc(ack.by) : ''}</span>` : ''}</div></div>
      <span>${(inc.silenced_by || []).length ? `<span class="tag warn" data-testid="silenced" title="${esc(inc.silenced_by.join(', '))}">${esc(t('inc.silenced'))}</span> ` : ''}${(inc.inhibited_by || []).length ? `<span class="tag warn" data-testid="inhibited" title="${esc(inc.inhibited_by.join('; '))}">${esc(t('inc.inhibited'))}</span> ` : ''}<span class="tag ${esc(inc.status)}" data-testid="incident-status">${esc(t('ist.' + inc.status))}</span></span></header>
    ${inc.verdict ? `<p class="verdict" data-testid="verdict" data-kind="${esc(inc.verdict.kind)}"><strong>${esc(t('inc.verdict'))}: ${esc(t('vk.' + inc.verdict.kind))}</strong> (${esc(t('inc.confidence'))} ${esc(Math.round(inc.verdict.confidence * 100))}%, ${esc(fmtTime(inc.verdict.at))})<br>${(inc.verdict.evidence || []).map(esc).join('<br>')}</p>` : ''}
    ${steps ? `<table class="steps"><thead><tr><th>${esc(t('step.relation'))}</th><th>${esc(t('step.jur'))}</th><th>${esc(t('step.owner'))}</th><th>${esc(t('step.action'))}</th><th>${esc(t('step.deadline'))}</th><th>${esc(t('step.receipt'))}</th><th>${esc(t('step.done'))}</th></tr></thead><tbody>${steps}</tbody></table>` : ''}
    <div class="actions">${buttons.join('')}</div>
    <div class="actions">${reports.join('')}</div>
    ${stationCommandsTable(d.station_commands || [], names)}
    <details><summary>${esc(t('inc.log'))} (${d.log.length}) · ${esc(t('inc.notifications'))} (${d.notifications.length})</summary>
      <table>${d.log.map((l) => `<tr><td>${esc(fmtTime(l.at))}</td><td>${esc(l.actor)}</td><td>${esc(l.action)}</td><td>${esc(l.detail)}</td></tr>`).join('')}</table>
      <table>${d.notifications.map((n) => `<tr><td>${esc(fmtTime(n.at))}</td><td>${esc(n.channel)}</td><td>${esc(n.recipient)}</td><td>${esc(n.kind)}</td><td><span class="tag ${n.status === 'sent' ? 'good' : n.status === 'inhibited' || n.status === 'released' ? 'warn' : 'bad'}">${esc(n.status)}</span> ${esc(n.error || '')}</td></tr>`).join('')}</table>
    </details>
    <details data-sources="${esc(inc.id)}"><summary>${esc(t('inc.sources'))}</summary><p class="muted">…</p></details></article>`;
}
// The upstream source ranking (溯源, docs/sources.md), loaded when its details are opened.
async function loadSources(d, names) {
  d.dataset.loaded = '1';
  const min = (s) => (s === null ? '–' : `${Math.round(s / 60)} min`);
  try {
    const rep = (await api(`/api/v1/incidents/${encodeURIComponent(d.dataset.sources)}/sources`)).data;
    d.querySelector('p').outerHTML = rep.candidates.length ? `<table data-testid="sources"><thead><tr><th>#</th><th>${esc(t('col.site'))}</th><th>${esc(t('src.score'))}</th><th>${esc(t('src.lag'))}</th><th>${esc(t('src.evidence'))}</th></tr></thead>
      <tbody>${rep.candidates.map((c, i) => `<tr data-site="${esc(c.site)}"><td>${i + 1}</td><td><a href="#/site/${encodeURIComponent(c.site)}">${esc(names[c.site] || c.name)}</a><div class="muted">${esc(t('kind.' + c.kind))} · ${fmtNum(c.distance_km)} km</div></td>
        <td><strong>${fmtNum(c.score)}</strong></td><td>${esc(min(c.observed_lag_s))} / ${esc(min(c.expected_lag_s))}</td><td>${c.evidence.map(esc).join('<br>')}</td></tr>`).join('')}</tbody></table>`
      : `<p class="muted">${esc(t('src.none'))}</p>`;
  } catch (e) {
    d.dataset.loaded = '';
    if (e.status !== 401) d.querySelector('p').textContent = e.message;
  }
}
// The host commands the incident's playbooks asked of the stations and what each station
// answered: the raised reporting interval, its restore, a retained sample (and any report).
function stationCommandsTable(cmds, names) {
  if (!cmds.length) return '';
  const what = (c) => t('scmd.' + c.command) + (c.rtd_interval_s ? ` ${c.rtd_interval_s} s` : c.min_interval_min ? ` ${c.min_interval_min} min` : '');
  const cls = (st) => (st === 'executed' ? 'good' : st === 'requested' || st === 'sent' || st === 'acknowledged' || st === 'not_connected' ? 'warn' : 'bad');
  return `<table data-testid="station-commands"><caption>${esc(t('inc.stationCommands'))}</caption>${cmds.map((c) => `<tr data-command="${esc(c.id)}"><td>${esc(fmtTime(c.at))}</td>
    <td><a href="#/site/${encodeURIComponent(c.site)}">${esc(names[c.site] || c.site)}</a></td><td>${esc(what(c))}</td>
    <td><span class="tag ${cls(c.status)}">${esc(c.status)}</span> ${esc(c.detail || '')}${reported(c.report)}</td><td>${esc(fmtTime(c.status_at))}</td></tr>`).join('')}</table>`;
}
// What the station reported under the command's QN: a bottle (3015), its clock (1011), its
// field-machine information (3020).
function reported(r) {
  if (!r) return '';
  const parts = [];
  if (r.vase_no) parts.push(`VaseNo=${r.vase_no}`);
  if (r.clock_offset_s !== undefined) parts.push(`SystemTime ${fmtTime(r.system_time)} (${r.clock_offset_s > 0 ? '+' : ''}${r.clock_offset_s} s)`);
  for (const i of r.info || []) parts.push(`${i.pol_id ? i.pol_id + ' ' : ''}${i.info_id}-Info=${i.value}`);
  if (r.unread) parts.push(r.unread);
  return parts.length ? ` <span class="report">${esc(parts.join('; '))}</span>` : '';
}
function act(b) {
  // Resolving sends End of Alert to everyone notified: ask first (M2).
  if (b.dataset.action === 'resolve' && !window.confirm(t('inc.resolve.confirm'))) return;
  const id = encodeURIComponent(b.dataset.incident);
  const paths = { ack: `/api/v1/incidents/${id}/ack`, resolve: `/api/v1/incidents/${id}/resolve`, receipt: `/api/v1/incidents/${id}/receipt`, done: `/api/v1/incidents/${id}/steps/${encodeURIComponent(b.dataset.step || '')}/done` };
  command(b, paths[b.dataset.action], b.dataset.action === 'receipt' ? { step: b.dataset.step } : {});
}
async function command(button, path, body) {
  button.disabled = true;
  try {
    const res = await api(path, { method: 'POST', body });
    toast(res.status === 202 ? t('cmd.pending') : t('cmd.applied'));
  } catch (e) {
    if (e.status !== 401) toast(`${t('cmd.failed')}: ${e.message}`);
  }
  await route(true);
}

// ---- silences -----------------------------------------------------------------------------
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const holdsAll = (js) => (js || []).every((j) => sees(j));
function matcherText(m) { return `${m.name}${m.is_regex ? '=~' : '='}${m.value}`; }
async function renderSilences() {
  const q = state.silFilter === 'expired' ? '?state=expired' : '';
  const [list, sites] = await Promise.all([api(`/api/v1/silences${q}`), api('/api/v1/sites')]);
  const admin = can('silence_create');
  const rows = list.data.silences.map((s) => `<tr data-silence="${esc(s.id)}" data-state="${esc(s.state)}">
    <td><span class="tag ${s.state === 'active' ? 'warn' : ''}">${esc(t('sst.' + s.state))}</span></td>
    <td>${esc(s.matchers.map(matcherText).join(', '))}${s.recurrence ? ` <span class="muted">${esc(t('sil.weekly'))} ${esc(s.recurrence.weekdays.map((d) => t('day.' + d)).join('、'))} ${esc(s.recurrence.start)}+${esc(s.recurrence.duration)}</span>` : ''}</td>
    <td>${esc(fmtTime(s.starts_at))}</td><td>${esc(fmtTime(s.ends_at))}</td><td>${esc(s.created_by)}</td><td>${esc(s.comment)}</td>
    <td>${admin && s.state !== 'expired' && holdsAll(s.jurisdictions) ? `<button type="button" class="btn danger" data-expire="${esc(s.id)}">${esc(t('sil.expire'))}</button>` : ''}</td></tr>`).join('');
  view().innerHTML = `
    <div class="toolbar">
      <button type="button" class="seg ${state.silFilter === 'live' ? 'on' : ''}" data-sfilter="live">${esc(t('sil.live'))}</button>
      <button type="button" class="seg ${state.silFilter === 'expired' ? 'on' : ''}" data-sfilter="expired">${esc(t('sil.expired'))}</button>
    </div>
    <div class="card">${rows ? `<table data-testid="silences"><thead><tr><th>${esc(t('sil.state'))}</th><th>${esc(t('sil.matchers'))}</th><th>${esc(t('sil.starts'))}</th><th>${esc(t('sil.ends'))}</th><th>${esc(t('sil.by'))}</th><th>${esc(t('sil.comment'))}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
      : `<p class="muted" data-testid="silences">${esc(t('sil.none'))}</p>`}</div>
    ${admin ? `<form class="card silence-form" id="silence-form" data-testid="silence-form"><h3>${esc(t('sil.new'))}</h3>
      <label>${esc(t('sil.site'))} <select name="site">${sites.data.items.map((x) => `<option value="${esc(x.id)}">${esc(x.name)}</option>`).join('')}</select></label>
      <label>${esc(t('sil.param'))} <input name="parameter" size="8"></label>
      <label>${esc(t('sil.hours'))} <input name="hours" type="number" min="0.25" step="0.25" value="2" required></label>
      <label>${esc(t('sil.comment'))} <input name="comment" required size="24"></label>
      <label><input name="eor" type="checkbox"> ${esc(t('sil.eor'))}</label>
      <fieldset><legend>${esc(t('sil.days'))}</legend>${DAYS.map((d) => `<label><input type="checkbox" name="day" value="${esc(d)}"> ${esc(t('day.' + d))}</label>`).join('')}
        <label>${esc(t('sil.at'))} <input name="at" type="time" value="09:00"></label>
        <label>${esc(t('sil.len'))} <input name="len" value="2h" size="5"></label></fieldset>
      <button type="submit" class="btn" data-testid="silence-create">${esc(t('sil.create'))}</button></form>` : ''}`;
  view().querySelectorAll('[data-sfilter]').forEach((b) => b.addEventListener('click', () => { state.silFilter = b.dataset.sfilter; route(); }));
  view().querySelectorAll('[data-expire]').forEach((b) => b.addEventListener('click', () => {
    if (!window.confirm(t('sil.expire.confirm'))) return;
    silenceCommand(b, `/api/v1/silences/${encodeURIComponent(b.dataset.expire)}`, 'DELETE');
  }));
  $('#silence-form')?.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const matchers = [{ name: 'site', value: f.get('site') }];
    if (String(f.get('parameter') || '').trim()) matchers.push({ name: 'parameter', value: String(f.get('parameter')).trim() });
    const body = { matchers, comment: f.get('comment'), ends_at: new Date(Date.now() + Number(f.get('hours')) * 3600e3).toISOString() };
    if (f.get('eor')) body.end_on_resolve = true;
    const days = f.getAll('day');
    if (days.length) body.recurrence = { weekdays: days, start: f.get('at'), duration: f.get('len') };
    silenceCommand(e.target.querySelector('button'), '/api/v1/silences', 'POST', body);
  });
}
async function silenceCommand(button, path, method, body) {
  button.disabled = true;
  try {
    const res = await api(path, { method, body: body ?? {} });
    toast(res.status === 202 ? t('cmd.pending') : t('cmd.applied'));
  } catch (e) {
    if (e.status !== 401) toast(`${t('cmd.failed')}: ${e.message}`);
  }
  await route(true);
}

// ---- reports ------------------------------------------------------------------------------
async function renderReports() {
  const nowYear = Number(new Intl.DateTimeFormat('en', { timeZone: TZ, year: 'numeric' }).format(new Date()));
  const year = state.year || nowYear;
  const q = `from=${year}-01-01&to=${year + 1}-01-01`;
  // The skill table is a request of its own: a failure of it leaves the compliance report shown.
  const [rep, drillYear, drillList, skill, rivers] = await Promise.all([
    api(`/api/v1/reports/compliance?${q}`).then((r) => r.data),
    api(`/api/v1/reports/drills?year=${year}`).then((r) => r.data),
    api(`/api/v1/drills?${q}`).then((r) => r.data),
    api(`/api/v1/predictions/skill?${q}`).then((r) => r.data, () => null),
    caches.rivers || api('/api/v1/rivers'),
  ]);
  caches.rivers = rivers;
  const months = rep.months;
  const sites = rep.period.sites;
  const yn = (m) => (m === null || m === undefined ? `<span class="muted">${esc(t('rep.na'))}</span>`
    : m ? `<span class="tag good">${esc(t('rep.yes'))}</span>` : `<span class="tag bad">${esc(t('rep.no'))}</span>`);
  const pct = (v) => `${(v * 100).toFixed(1)}%`;
  // A period with readings but too few for its assessment is shown as such (数据不足), not as a class.
  const cell = (sc) => (sc && sc.class ? `<td class="cell" data-bg="${esc(classColor(sc.class))}" title="${esc(sc.main_pollutants)}">${roman(sc.class)}</td>`
    : sc && sc.data_status === 'insufficient_data' ? `<td class="cell muted" data-testid="insufficient" title="${esc((sc.insufficient_items || []).join(', '))}">${esc(t('rep.insufficient'))}</td>`
      : '<td class="cell muted">-</td>');
  view().innerHTML = `
    <div class="toolbar"><label>${esc(t('rep.year'))} <select id="year">${[0, 1, 2, 3, 4].map((i) => nowYear - i).map((y) => `<option ${y === year ? 'selected' : ''}>${y}</option>`).join('')}</select></label>
      <span class="grow"></span><button type="button" class="btn secondary" id="rep-csv" data-testid="report-csv">${esc(t('rep.csv'))}</button></div>
    <div class="card"><h2 class="flush">${esc(t('rep.indicators'))} · ${esc(rep.period.label)}</h2>
      <table data-testid="indicators"><thead><tr><th>${esc(t('rep.indicator'))}</th><th class="num">${esc(t('rep.value'))}</th><th class="num">${esc(t('rep.targetv'))}</th><th>${esc(t('rep.meets'))}</th></tr></thead>
      <tbody>${rep.period.indicators.map((i) => `<tr><td>${esc(state.lang === 'en' ? i.name_en : i.name)}</td><td class="num">${i.of ? `${pct(i.value)} <span class="muted">(${i.count}/${i.of})</span>` : '-'}</td>
        <td class="num">${i.direction === 'min' ? '≥ ' : '≤ '}${pct(i.target)}</td><td>${yn(i.meets)}</td></tr>`).join('')}</tbody></table></div>
    <div class="card"><h2 class="flush">${esc(t('rep.months'))}</h2>
      <table class="grid"><thead><tr><th>${esc(t('col.site'))}</th><th>${esc(t('col.target'))}</th>${months.map((m) => `<th>${esc(m.label.slice(5))}</th>`).join('')}<th>${esc(t('rep.period'))}</th><th>${esc(t('rep.meets'))}</th><th>${esc(t('col.pollutants'))}</th><th class="num">${esc(t('rep.corrected'))}</th><th>${esc(t('rep.nondetect'))}</th><th>${esc(t('rep.source'))}</th></tr></thead>
      <tbody>${sites.map((sc) => `<tr data-site="${esc(sc.site)}"><td>${esc(sc.name)}</td><td>${roman(sc.target_class)}</td>${months.map((m) => cell(m.sites.find((x) => x.site === sc.site))).join('')}${cell(sc)}<td>${yn(sc.meets_target)}</td><td>${esc(sc.main_pollutants)}</td><td class="num">${sc.corrected_readings || 0}</td>
        <td data-testid="non-detects">${esc((sc.non_detects || []).map((n) => n.text).join('、'))}</td><td data-testid="data-source">${sourceText(sc)}</td></tr>`).join('')}</tbody></table></div>
    <div class="card"><h2 class="flush">${esc(t('rep.rivers'))}</h2>
      <table data-testid="rivers"><thead><tr><th>${esc(t('col.river'))}</th><th>${esc(t('rep.method'))}</th><th class="num">${esc(t('rep.sections'))}</th><th>${esc(t('col.class'))}</th><th class="num">${esc(t('rep.share3'))}</th><th>${esc(t('col.pollutants'))}</th></tr></thead>
      <tbody>${rep.period.rivers.map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(t('method.' + r.method))}</td><td class="num">${r.rated}/${r.sections}</td>
        <td>${r.class ? badge(r.class) : ''} <span class="strong" data-fg="${esc(r.color || '#6b7a8c')}">${esc(descriptor(r.descriptor))}</span></td><td class="num">${r.rated ? pct(r.share_iii_or_better) : '-'}</td><td>${esc(r.main_pollutants)}</td></tr>`).join('')}</tbody></table></div>
    ${sourcesCard(sites)}
    ${monthlySection(months, rivers)}
    ${drillSection(drillYear, drillList)}
    ${skill ? skillCard(skill) : ''}`;
  $('#year').addEventListener('change', (e) => { state.year = Number(e.target.value); route(); });
  $('#rep-csv').addEventListener('click', () => download(`/api/v1/reports/compliance?${q}&format=csv`, `compliance_${year}.csv`));
  $('#drill-csv').addEventListener('click', () => download(`/api/v1/reports/drills?year=${year}&format=csv`, `drills_${year}.csv`));
  $('#drill-list-csv').addEventListener('click', () => download(`/api/v1/drills?${q}&format=csv`, `drills_${year}_steps.csv`));
}

// monthlySection lists the year's months on the reports page, each with how many of its
// rated sites met their target, and links to the month's printable report (月报) for the
// city and each river.
function monthlySection(months, rivers) {
  const riverList = rivers.data.items || rivers.data;
  const rows = months.map((m) => {
    const rated = m.sites.filter((sc) => sc.data_status === 'rated');
    const met = rated.filter((sc) => sc.meets_target === true).length;
    const month = m.label;
    const links = [['', t('mon.city')], ...riverList.map((r) => [r.id, r.name])]
      .map(([id, name]) => `<a href="#/monthly/${esc(month)}${id ? '/' + encodeURIComponent(id) : ''}" data-testid="monthly-link">${esc(name)}</a>`).join(' · ');
    return `<tr data-month="${esc(month)}"><td>${esc(month)}</td><td class="num" data-testid="monthly-met">${rated.length ? `${met}/${rated.length}` : '-'}</td><td>${links}</td></tr>`;
  }).join('');
  return `<div class="card"><h2 class="flush">${esc(t('mon.section'))}</h2>
    <table data-testid="monthly-months"><thead><tr><th>${esc(t('mon.month'))}</th><th class="num">${esc(t('mon.compliance'))}</th><th>${esc(t('mon.open'))}</th></tr></thead>
    <tbody>${rows}</tbody></table></div>`;
}

// renderMonthly is the printable 月报 of one month for the city or a river
// (GET /api/v1/reports/monthly): #/monthly/2026-05 or #/monthly/2026-05/santun.
async function renderMonthly(arg) {
  const [month, river] = arg.split('/');
  const q = `month=${encodeURIComponent(month || '')}${river ? `&river=${encodeURIComponent(river)}` : ''}`;
  const rep = (await api(`/api/v1/reports/monthly?${q}`)).data;
  const sm = rep.summary;
  const yn = (m) => (m === null || m === undefined ? `<span class="muted">${esc(t('rep.na'))}</span>`
    : m ? `<span class="tag good">${esc(t('rep.yes'))}</span>` : `<span class="tag bad">${esc(t('rep.no'))}</span>`);
  const pct = (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);
  const counter = (n, label, id, alert) => `<div class="counter ${alert ? 'alert' : ''}"><div class="n" data-testid="${esc(id)}">${esc(n)}</div><div class="l">${esc(label)}</div></div>`;
  // The chart: the rated sites by class, one bar each, in the class colours.
  const max = Math.max(1, ...rep.classes.map((c) => c.sites));
  const bars = rep.classes.map((c, i) => `<g transform="translate(0 ${i * 26})"><text x="0" y="16">${esc(c.class_roman)}</text>
    <rect x="40" y="3" height="18" width="${Math.round((c.sites / max) * 360)}" fill="${safeColor(c.color)}"></rect>
    <text x="${48 + Math.round((c.sites / max) * 360)}" y="16" data-testid="class-count">${c.sites}</text></g>`).join('');
  const siteRows = rep.sites.map((ms) => {
    const sc = ms.compliance;
    const cls = sc.class ? badge(sc.class) : sc.data_status === 'insufficient_data' ? `<span class="muted">${esc(t('rep.insufficient'))}</span>` : badge('');
    return `<tr data-site="${esc(sc.site)}"><td>${esc(sc.name)}</td><td>${roman(sc.target_class)}</td><td>${cls}</td><td>${ms.previous_class ? badge(ms.previous_class) : '-'}</td>
      <td data-testid="change">${ms.change ? esc(t('ch.' + ms.change)) : ''}</td><td>${yn(sc.meets_target)}</td><td>${esc(sc.main_pollutants)}</td>
      <td>${esc((sc.non_detects || []).map((n) => n.text).join('、'))}</td><td>${sourceText(sc)}</td></tr>`;
  }).join('');
  const incRows = rep.incidents.map((i) => `<tr data-incident="${esc(i.id)}"><td>${esc(fmtTime(i.opened_at))}</td><td><a href="#/incidents">${esc(i.title)}</a></td><td>${esc(i.level)}</td><td>${esc(t('ist.' + i.status))}</td></tr>`).join('');
  const drillRows = rep.drills.map((d) => `<tr data-drill="${esc(d.incident)}"><td>${esc(fmtTime(d.opened_at))}</td><td>${esc(d.title)}</td><td class="num">${d.met_share === null ? '-' : pct(d.met_share)}</td><td>${esc(t('ist.' + d.status))}</td></tr>`).join('');
  const [y, m] = rep.month.split('-');
  const heading = state.lang === 'en' ? `${t('mon.title')} · ${rep.month} · ${rep.scope === 'city' ? t('mon.city') : rep.scope_name}`
    : `${rep.scope === 'city' ? '昌吉市' : rep.scope_name}${t('mon.title')}（${y}年${Number(m)}月）`;
  view().innerHTML = `
    <div class="toolbar noprint"><a href="#/reports">← ${esc(t('nav.reports'))}</a><span class="grow"></span>
      <button type="button" class="btn secondary" id="mon-csv" data-testid="monthly-csv">${esc(t('mon.csv'))}</button>
      <button type="button" class="btn" id="mon-print" data-testid="monthly-print">${esc(t('mon.print'))}</button></div>
    <article class="monthly" data-testid="monthly">
    <h1 data-testid="monthly-title">${esc(heading)}</h1>
    <p class="muted">${esc(t('mon.generated'))} ${esc(fmtTime(rep.generated_at))}${rep.complete ? '' : ` · <span data-testid="monthly-running">${esc(t('mon.running'))}</span>`}</p>
    <div class="counters">
      ${counter(`${sm.meeting}/${sm.rated}`, t('mon.meeting'), 'monthly-meeting')}${counter(pct(sm.meeting_share), t('mon.share'), 'monthly-share')}
      ${counter(`${sm.improved}/${sm.worse}`, `${t('mon.improved')}/${t('mon.worse')}`, 'monthly-change')}
      ${counter(`${sm.incidents}/${sm.drills}`, `${t('mon.incidents')}/${t('mon.drills')}`, 'monthly-incidents', sm.open_at_end > 0)}
    </div>
    <div class="card"><h2 class="flush">${esc(t('rep.indicators'))}</h2>
      <table data-testid="monthly-indicators"><thead><tr><th>${esc(t('rep.indicator'))}</th><th class="num">${esc(t('rep.value'))}</th><th class="num">${esc(t('rep.targetv'))}</th><th>${esc(t('rep.meets'))}</th></tr></thead>
      <tbody>${rep.indicators.map((i) => `<tr><td>${esc(state.lang === 'en' ? i.name_en : i.name)}</td><td class="num">${i.of ? `${pct(i.value)} <span class="muted">(${i.count}/${i.of})</span>` : '-'}</td>
        <td class="num">${i.direction === 'min' ? '≥ ' : '≤ '}${pct(i.target)}</td><td>${yn(i.meets)}</td></tr>`).join('')}</tbody></table></div>
    <div class="card"><h2 class="flush">${esc(t('mon.classes'))}</h2><svg class="bars" data-testid="monthly-chart" viewBox="0 0 460 ${rep.classes.length * 26}" width="460" height="${rep.classes.length * 26}">${bars}</svg></div>
    <div class="card"><h2 class="flush">${esc(t('mon.sites'))}</h2>
      <table data-testid="monthly-sites"><thead><tr><th>${esc(t('col.site'))}</th><th>${esc(t('col.target'))}</th><th>${esc(t('col.class'))}</th><th>${esc(t('mon.prev'))}</th><th>${esc(t('mon.change'))}</th>
        <th>${esc(t('rep.meets'))}</th><th>${esc(t('col.pollutants'))}</th><th>${esc(t('rep.nondetect'))}</th><th>${esc(t('rep.source'))}</th></tr></thead><tbody>${siteRows}</tbody></table></div>
    ${sourcesCard(rep.sites.map((ms) => ms.compliance))}
    <div class="card"><h2 class="flush">${esc(t('rep.rivers'))}</h2>
      <table><thead><tr><th>${esc(t('col.river'))}</th><th>${esc(t('rep.method'))}</th><th>${esc(t('col.class'))}</th><th class="num">${esc(t('rep.share3'))}</th><th>${esc(t('col.pollutants'))}</th></tr></thead>
      <tbody>${rep.rivers.map((r) => `<tr><td>${esc(r.name)}</td><td>${esc(t('method.' + r.method))}</td><td>${r.class ? badge(r.class) : ''} ${esc(descriptor(r.descriptor))}</td>
        <td class="num">${r.rated ? pct(r.share_iii_or_better) : '-'}</td><td>${esc(r.main_pollutants)}</td></tr>`).join('')}</tbody></table></div>
    <div class="card"><h2 class="flush">${esc(t('mon.incList'))}</h2>
      ${incRows ? `<table data-testid="monthly-incidents-list"><thead><tr><th>${esc(t('mon.opened'))}</th><th>${esc(t('mon.incTitle'))}</th><th>${esc(t('mon.level'))}</th><th>${esc(t('mon.status'))}</th></tr></thead><tbody>${incRows}</tbody></table>` : `<p class="muted">${esc(t('mon.none'))}</p>`}</div>
    <div class="card"><h2 class="flush">${esc(t('mon.drillList'))}</h2>
      ${drillRows ? `<table data-testid="monthly-drills"><thead><tr><th>${esc(t('mon.opened'))}</th><th>${esc(t('drill.title'))}</th><th class="num">${esc(t('mon.met'))}</th><th>${esc(t('mon.status'))}</th></tr></thead><tbody>${drillRows}</tbody></table>` : `<p class="muted">${esc(t('mon.none'))}</p>`}</div>
    </article>`;
  $('#mon-csv').addEventListener('click', () => download(`/api/v1/reports/monthly?${q}&format=csv`, `monthly_${rep.scope}_${rep.month}.csv`));
  $('#mon-print').addEventListener('click', () => window.print());
}

// sourceText says what a site's assessment rests on, and which manual samples the automatic
// data set aside (环办监测函〔2020〕82号: automatic data first for the automatic items).
function sourceText(sc) {
  if (!sc.data_source) return '';
  const aside = sc.manual_set_aside ? ` <span class="muted" title="${esc(t('rep.setaside'))}">(−${sc.manual_set_aside} ${esc((sc.set_aside_items || []).join(', '))})</span>` : '';
  return `${esc(t('src.' + sc.data_source))}${aside}`;
}

// ---- reservoirs and drinking-water sources (docs/reports.md) ------------------------------
// The trophic state (TLI) of lake/reservoir sites, and the drinking-water sources' compliance.
Object.assign(I18N.zh, {
  'tli.title': '湖库营养状态与饮用水源地', 'tli.index': '综合营养状态指数', 'tli.grade': '营养状态', 'tli.missing': '缺少',
  'tli.none': '无数据', 'tli.oligotrophic': '贫营养', 'tli.mesotrophic': '中营养', 'tli.light_eutrophic': '轻度富营养',
  'tli.middle_eutrophic': '中度富营养', 'tli.hyper_eutrophic': '重度富营养',
  'p.chlorophyll': '叶绿素a', 'p.tp': '总磷', 'p.tn': '总氮', 'p.transparency': '透明度', 'p.codmn': '高锰酸盐指数',
  'src3.target': '目标类别+表2、3', 'src3.iii': 'Ⅲ类+表2、3', 'src3.exceeding': '表2、3超标项', 'src3.note': 'Ⅲ类+表2、3：常用于水源地统计的规则，未经核实',
});
Object.assign(I18N.en, {
  'tli.title': 'Reservoirs and drinking-water sources', 'tli.index': 'Trophic state index', 'tli.grade': 'Trophic state', 'tli.missing': 'missing',
  'tli.none': 'no data', 'tli.oligotrophic': 'oligotrophic', 'tli.mesotrophic': 'mesotrophic', 'tli.light_eutrophic': 'light eutrophic',
  'tli.middle_eutrophic': 'middle eutrophic', 'tli.hyper_eutrophic': 'hyper eutrophic',
  'p.chlorophyll': 'chlorophyll a', 'p.tp': 'TP', 'p.tn': 'TN', 'p.transparency': 'transparency', 'p.codmn': 'CODMn',
  'src3.target': 'Target + Tables 2, 3', 'src3.iii': 'Class Ⅲ + Tables 2, 3', 'src3.exceeding': 'Tables 2, 3 exceeded', 'src3.note': 'Class Ⅲ + Tables 2, 3: a rule commonly used for source statistics, unverified',
});
// trophicCell is a site's TLI for the period: the index and grade, or "insufficient data" with
// the missing items, or "no data" — never a grade without the five items.
function trophicCell(ts) {
  if (!ts) return '<td>-</td><td>-</td>';
  if (ts.status === 'rated') return `<td class="num" data-testid="tli-index">${esc(ts.index.toFixed(1))}</td><td data-testid="tli-grade">${esc(t('tli.' + ts.grade))}</td>`;
  if (ts.status === 'insufficient_data') {
    return `<td class="num muted" data-testid="tli-index">-</td><td class="muted" data-testid="tli-grade">${esc(t('rep.insufficient'))} <span data-testid="tli-missing">(${esc(t('tli.missing'))} ${esc(ts.missing.map((p) => t('p.' + p)).join('、'))})</span></td>`;
  }
  return `<td class="num muted" data-testid="tli-index">-</td><td class="muted" data-testid="tli-grade">${esc(t('tli.none'))}</td>`;
}
// sourcesCard lists the period's lake/reservoir sites and drinking-water sources; '' when none.
// A source is judged by its target (Ⅱ) plus Tables 2 and 3 and, when the api shows it
// (api.report_source_class_iii), by Class Ⅲ plus Tables 2 and 3.
function sourcesCard(sites) {
  const rows = sites.filter((sc) => sc.trophic || sc.kind === 'drinking_source');
  if (!rows.length) return '';
  const yn = (m) => (m === null || m === undefined ? `<span class="muted">${esc(t('rep.na'))}</span>`
    : m ? `<span class="tag good">${esc(t('rep.yes'))}</span>` : `<span class="tag bad">${esc(t('rep.no'))}</span>`);
  const both = rows.some((sc) => sc.source_class_iii);
  const src = (sc) => (sc.kind !== 'drinking_source' ? '<td></td>'.repeat(both ? 3 : 1)
    : `<td data-testid="src-target">${yn(sc.meets_target)}</td>${both ? `<td data-testid="src-iii">${sc.source_class_iii ? yn(sc.source_class_iii.meets) : ''}</td>
      <td data-testid="src-exceeding">${esc(((sc.source_class_iii || {}).exceeding || []).join('、'))}</td>` : ''}`);
  return `<div class="card"><h2 class="flush">${esc(t('tli.title'))}</h2>
    <table data-testid="sources-card"><thead><tr><th>${esc(t('col.site'))}</th><th class="num">${esc(t('tli.index'))}</th><th>${esc(t('tli.grade'))}</th>
      <th>${esc(t('src3.target'))}</th>${both ? `<th title="${esc(t('src3.note'))}">${esc(t('src3.iii'))}</th><th>${esc(t('src3.exceeding'))}</th>` : ''}</tr></thead>
    <tbody>${rows.map((sc) => `<tr data-site="${esc(sc.site)}"><td>${esc(sc.name)}</td>${trophicCell(sc.trophic)}${src(sc)}</tr>`).join('')}</tbody></table>
    ${both ? `<p class="muted">${esc(t('src3.note'))}</p>` : ''}</div>`;
}

// ---- backtests (docs/reports.md, "Backtests on the dashboard") ---------------------------
// #/backtest[/NAME]: a backtest the CLI stored (api.backtest_dir), per site and in total, and
// the two configurations' alarms as timelines side by side.
Object.assign(I18N.zh, {
  'nav.backtest': '规则回测', 'bt.title': '规则回测', 'bt.pick': '回测', 'bt.none': '暂无已保存的回测',
  'bt.unconfigured': '未配置回测目录（api.backtest_dir）', 'bt.period': '回测时段', 'bt.readings': '回放读数',
  'bt.episodes': '报警次数', 'bt.added': '新增报警', 'bt.removed': '减少报警', 'bt.delay': '平均发现延迟',
  'bt.open': '报警持续', 'bt.notifying': '通知', 'bt.total': '合计', 'bt.timelines': '报警时间线',
  'bt.addedList': '候选配置新增的报警', 'bt.removedList': '候选配置减少的报警', 'bt.first': '首次超标', 'bt.opened': '报警',
  'bt.cleared': '解除', 'bt.still': '期末仍未解除', 'bt.nothing': '无', 'bt.min': '分钟', 'bt.h': '小时',
});
Object.assign(I18N.en, {
  'nav.backtest': 'Backtests', 'bt.title': 'Rule backtest', 'bt.pick': 'Backtest', 'bt.none': 'No stored backtests',
  'bt.unconfigured': 'No backtest directory configured (api.backtest_dir)', 'bt.period': 'Period', 'bt.readings': 'Readings replayed',
  'bt.episodes': 'Alarms', 'bt.added': 'Added', 'bt.removed': 'Removed', 'bt.delay': 'Mean detection delay',
  'bt.open': 'Time open', 'bt.notifying': 'Notifications', 'bt.total': 'Total', 'bt.timelines': 'Alarm timelines',
  'bt.addedList': 'Alarms the candidate adds', 'bt.removedList': 'Alarms the candidate removes', 'bt.first': 'first over', 'bt.opened': 'opened',
  'bt.cleared': 'cleared', 'bt.still': 'open at the end', 'bt.nothing': 'none', 'bt.min': 'min', 'bt.h': 'h',
});
// btDuration writes nanoseconds as minutes, or hours past two.
function btDuration(ns) {
  const m = ns / 60e9;
  return m >= 120 ? `${(m / 60).toFixed(1)} ${t('bt.h')}` : `${Math.round(m)} ${t('bt.min')}`;
}
// btTimeline draws one configuration's episodes, one lane per site and parameter (lanes
// shared by both panels): a bar from the first exceeding reading to the clearing, a tick at
// the opening; the alarms this configuration has and the other has not are marked.
function btTimeline(rep, i, lanes, changed) {
  const from = Date.parse(rep.from), to = Date.parse(rep.to);
  const W = 460, L = 110, lane = 22, H = lanes.length * lane + 24;
  const x = (iso) => L + ((Math.min(Math.max(Date.parse(iso), from), to) - from) / Math.max(1, to - from)) * (W - L - 8);
  const rows = lanes.map((k, j) => `<text x="0" y="${j * lane + 15}">${esc(k)}</text><line x1="${L}" x2="${W - 8}" y1="${j * lane + 11}" y2="${j * lane + 11}" stroke="#dde3ea"></line>`).join('');
  const bars = rep.episodes[i].map((ep) => {
    const j = lanes.indexOf(`${ep.site} ${ep.parameter}`);
    const x0 = x(ep.first_over), x1 = Math.max(x(ep.cleared || rep.to), x0 + 2), xo = x(ep.opened);
    const mark = changed.has(btKey(ep));
    return `<g data-testid="bt-episode" data-changed="${mark ? 'yes' : 'no'}"><rect x="${x0.toFixed(1)}" y="${j * lane + 4}" width="${(x1 - x0).toFixed(1)}" height="14" rx="3"
      fill="${mark ? (i === 1 ? '#f5a524' : '#8a94a3') : '#ed5466'}"><title>${esc(`${ep.site} ${ep.parameter} · ${t('bt.first')} ${fmtTime(ep.first_over)} · ${t('bt.opened')} ${fmtTime(ep.opened)} · ${ep.cleared ? `${t('bt.cleared')} ${fmtTime(ep.cleared)}` : t('bt.still')}`)}</title></rect>
      <line x1="${xo.toFixed(1)}" x2="${xo.toFixed(1)}" y1="${j * lane + 2}" y2="${j * lane + 20}" stroke="#1d2733" stroke-width="2"></line></g>`;
  }).join('');
  const axis = `<text x="${L}" y="${H - 4}">${esc(fmtTime(rep.from))}</text><text x="${W - 8}" y="${H - 4}" text-anchor="end">${esc(fmtTime(rep.to))}</text>`;
  return `<svg class="bars" data-testid="bt-timeline-${i === 0 ? 'current' : 'candidate'}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}">${rows}${bars}${axis}</svg>`;
}
const btKey = (ep) => `${ep.site}|${ep.parameter}|${ep.first_over}|${ep.opened}`;
async function renderBacktest(name) {
  const list = (await api('/api/v1/backtests')).data;
  if (!list.configured || !list.items.length) {
    view().innerHTML = `<div class="card"><h2 class="flush">${esc(t('bt.title'))}</h2><p class="muted" data-testid="bt-empty">${esc(t(list.configured ? 'bt.none' : 'bt.unconfigured'))}</p></div>`;
    return;
  }
  const pick = list.items.some((b) => b.name === name) ? name : list.items[0].name;
  const rep = (await api(`/api/v1/backtests/${encodeURIComponent(pick)}`)).data;
  const [cur, cand] = rep.rules;
  const pair = (a, b, f = String) => `<td class="num">${esc(f(a))}</td><td class="num">${esc(f(b))}</td>`;
  const row = (s, label, total) => `<tr ${total ? 'class="strong" data-testid="bt-total"' : `data-site="${esc(s.site)}"`}><td>${esc(label)}</td>${pair(s.per[0].episodes, s.per[1].episodes)}
    <td class="num" data-testid="bt-added">${s.added}</td><td class="num" data-testid="bt-removed">${s.removed}</td>
    ${pair(s.per[0].mean_delay_ns, s.per[1].mean_delay_ns, btDuration)}${pair(s.per[0].open_ns, s.per[1].open_ns, btDuration)}${pair(s.per[0].notifying, s.per[1].notifying)}</tr>`;
  const two = (k) => `<th class="num" colspan="2">${esc(t(k))}</th>`;
  const lanes = [...new Set([...rep.episodes[0], ...rep.episodes[1]].map((ep) => `${ep.site} ${ep.parameter}`))].sort();
  const added = new Set(rep.added.map(btKey)), removed = new Set(rep.removed.map(btKey));
  const epList = (eps, id) => (eps.length ? `<ul data-testid="${esc(id)}">${eps.map((ep) => `<li>${esc(`${ep.site} ${ep.parameter} · ${t('bt.first')} ${fmtTime(ep.first_over)} · ${t('bt.opened')} ${fmtTime(ep.opened)}`)}</li>`).join('')}</ul>`
    : `<p class="muted" data-testid="${esc(id)}">${esc(t('bt.nothing'))}</p>`);
  view().innerHTML = `
    <div class="toolbar"><label>${esc(t('bt.pick'))} <select id="bt-pick" data-testid="bt-pick">${list.items.map((b) => `<option value="${esc(b.name)}" ${b.name === pick ? 'selected' : ''}>${esc(b.name)}</option>`).join('')}</select></label></div>
    <div class="card"><h2 class="flush" data-testid="bt-title">${esc(t('bt.title'))} · ${esc(pick)}</h2>
      <p class="muted">${esc(t('bt.period'))} ${esc(fmtTime(rep.from))} – ${esc(fmtTime(rep.to))} · ${esc(cur)} / ${esc(cand)}${rep.readings === null ? '' : ` · ${esc(t('bt.readings'))} ${rep.readings}`}</p>
      <table data-testid="bt-sites"><thead><tr><th rowspan="2">${esc(t('col.site'))}</th>${two('bt.episodes')}<th class="num" rowspan="2">${esc(t('bt.added'))}</th><th class="num" rowspan="2">${esc(t('bt.removed'))}</th>${two('bt.delay')}${two('bt.open')}${two('bt.notifying')}</tr>
        <tr>${[0, 1, 2, 3].map(() => `<th class="num">${esc(cur)}</th><th class="num">${esc(cand)}</th>`).join('')}</tr></thead>
      <tbody>${rep.sites.map((s) => row(s, s.site)).join('')}${row(rep.total, t('bt.total'), true)}</tbody></table></div>
    <div class="card"><h2 class="flush">${esc(t('bt.timelines'))}</h2>
      <div class="bt-panels"><div><h3>${esc(cur)}</h3>${btTimeline(rep, 0, lanes, removed)}</div><div><h3>${esc(cand)}</h3>${btTimeline(rep, 1, lanes, added)}</div></div></div>
    <div class="card"><h2 class="flush">${esc(t('bt.addedList'))}</h2>${epList(rep.added, 'bt-added-list')}
      <h2>${esc(t('bt.removedList'))}</h2>${epList(rep.removed, 'bt-removed-list')}</div>`;
  $('#bt-pick').addEventListener('change', (e) => { location.hash = `#/backtest/${encodeURIComponent(e.target.value)}`; });
}

// Drill scores (docs/reports.md): the year per jurisdiction, then every step of the year's drills.
const OUTCOME_TAG = { met: 'good', late: 'warn', missed: 'bad', pending: '' };
const TREND_TAG = { improved: 'good', worse: 'bad', unchanged: '', no_data: 'no_data' };
function fmtSeconds(s) {
  if (s === null || s === undefined) return '-';
  const m = s / 60;
  return `${m >= 10 || Number.isInteger(m) ? Math.round(m) : m.toFixed(1)} ${t('drill.min')}`;
}
function drillSection(year, list) {
  const pct = (v) => (v === null || v === undefined ? '-' : `${(v * 100).toFixed(0)}%`);
  const names = Object.fromEntries(year.jurisdictions.map((j) => [j.jurisdiction, j.name]));
  const tag = (cls, text) => `<span class="tag ${esc(cls)}">${esc(text)}</span>`;
  const rows = list.drills.flatMap((d) => (d.steps.length ? d.steps : [null]).map((s) => `<tr data-drill="${esc(d.incident)}" data-outcome="${esc(s ? s.outcome : '')}">
      <td>${esc(fmtTime(d.opened_at))}</td><td>${esc(d.title)}</td><td class="num">${esc(fmtSeconds(d.ack_seconds))}</td>
      <td>${esc(s ? names[s.jurisdiction] || s.jurisdiction : '')}</td><td>${esc(s ? roleName(s.role) : '')}</td>
      <td class="num">${esc(s ? fmtSeconds(s.receipt_seconds) : '')}</td><td class="num">${esc(s ? fmtSeconds(s.done_seconds) : '')}</td>
      <td class="num">${esc(s ? fmtSeconds(s.deadline_seconds) : '')}</td><td>${s ? tag(OUTCOME_TAG[s.outcome] || '', t('out.' + s.outcome)) : ''}</td></tr>`)).join('');
  return `<div class="card"><div class="toolbar"><h2 class="flush">${esc(t('drill.year'))} · ${esc(year.year)}</h2><span class="grow"></span>
      <button type="button" class="btn secondary" id="drill-csv" data-testid="drill-csv">${esc(t('drill.csv'))}</button></div>
      <table data-testid="drill-year"><thead><tr><th>${esc(t('drill.jur'))}</th><th class="num">${esc(t('drill.drills'))}</th><th class="num">${esc(t('drill.steps'))}</th>
        <th class="num">${esc(t('drill.share'))}</th><th class="num">${esc(t('drill.receipt'))}</th><th class="num">${esc(t('drill.ack'))}</th><th class="num">${esc(t('drill.done'))}</th><th>${esc(t('drill.trend'))}</th></tr></thead>
      <tbody>${year.jurisdictions.map((j) => `<tr data-jurisdiction="${esc(j.jurisdiction)}" data-trend="${esc(j.trend)}"><td>${esc(j.name || j.jurisdiction)}</td><td class="num">${esc(j.drills)}</td>
        <td class="num">${esc(`${j.met}/${j.late}/${j.missed}`)}</td><td class="num">${esc(pct(j.met_share))}</td><td class="num">${esc(fmtSeconds(j.median_receipt_seconds))}</td>
        <td class="num">${esc(fmtSeconds(j.median_ack_seconds))}</td><td class="num">${esc(fmtSeconds(j.median_done_seconds))}</td>
        <td>${tag(TREND_TAG[j.trend] || '', t('trend.' + j.trend))} <span class="muted">${esc(`${j.previous.label} ${pct(j.previous.met_share)} → ${j.half.label} ${pct(j.half.met_share)}`)}</span></td></tr>`).join('')}</tbody></table></div>
    <div class="card"><div class="toolbar"><h2 class="flush">${esc(t('drill.list'))}</h2><span class="grow"></span>
      <button type="button" class="btn secondary" id="drill-list-csv" data-testid="drill-list-csv">${esc(t('drill.listcsv'))}</button></div>
      ${rows ? `<table data-testid="drill-list"><thead><tr><th>${esc(t('drill.opened'))}</th><th>${esc(t('drill.title'))}</th><th class="num">${esc(t('drill.ackAfter'))}</th><th>${esc(t('step.jur'))}</th><th>${esc(t('step.owner'))}</th>
        <th class="num">${esc(t('drill.receiptAfter'))}</th><th class="num">${esc(t('drill.doneAfter'))}</th><th class="num">${esc(t('drill.allowed'))}</th><th>${esc(t('drill.outcome'))}</th></tr></thead>
      <tbody>${rows}</tbody></table>` : `<p class="muted" data-testid="drill-none">${esc(t('drill.none'))}</p>`}</div>`;
}

// skillCard is the per-reach skill of the plume predictions (GET /api/v1/predictions/skill).
function skillCard(skill) {
  // A signed error says early (−) or late (+); the absolute one has no sign.
  const min = (v, signed, digits = 1) => (v === null || v === undefined ? '-' : (signed && v > 0 ? '+' : '') + Number(v).toFixed(digits));
  // The verification's errors, over the `measured` checks: "-" when there are none (checks
  // stored before the API carried them), or none saw the peak (fall).
  const measured = (r, v, signed, digits) => (r.measured > 0 ? min(v, signed, digits) : '-');
  const rows = skill.reaches.map((r) => `<tr data-testid="skill-reach"><td>${esc(r.from_site_name || r.from_site)} → ${esc(r.to_site_name || r.to_site)}</td>
    <td class="num">${r.checked}</td><td class="num">${r.verified}</td><td class="num">${r.refuted}</td><td class="num">${(r.hit_rate * 100).toFixed(0)}%</td>
    <td class="num">${esc(min(r.mean_timing_error_min, true))}</td><td class="num">${esc(min(r.mean_abs_timing_error_min, false))}</td>
    <td class="num">${esc(measured(r, r.mean_rise_error_min, true))}</td><td class="num">${esc(measured(r, r.mean_abs_rise_error_min, false))}</td>
    <td class="num">${esc(measured(r, r.mean_peak_time_error_min, true))}</td><td class="num">${esc(measured(r, r.mean_peak_error, true, 3))}</td>
    <td class="num">${esc(measured(r, r.mean_duration_error_min, true))}</td></tr>`).join('');
  const cols = ['skill.checked', 'skill.verified', 'skill.refuted', 'skill.hit', 'skill.mean', 'skill.abs', 'skill.rise', 'skill.riseAbs', 'skill.peakTime', 'skill.peak', 'skill.duration'];
  return `<div class="card"><h2 class="flush">${esc(t('rep.skill'))}</h2>
    <div class="scroll-x"><table data-testid="skill"><thead><tr><th>${esc(t('skill.reach'))}</th>${cols.map((k) => `<th class="num">${esc(t(k))}</th>`).join('')}</tr></thead>
    <tbody>${rows || `<tr><td colspan="${cols.length + 1}" class="muted">${esc(t('skill.none'))}</td></tr>`}</tbody></table></div>
    ${rows ? `<p class="muted" data-testid="skill-note">${esc(t('skill.note'))}</p>` : ''}</div>`;
}

// ---- river map (#/map) --------------------------------------------------------------------
// The map draws each river through its sections and sources by their coordinates (lon/lat
// of /api/v1/sites; no tile server, nothing fetched but the API), outfalls as squares beside
// it, drinking-water sources ringed, the emergency spaces of /api/v1/rivers placed along the
// river by km, and each open plume prediction of the active incidents (the scoped
// /api/v1/incidents) as the stretch of river it covers now: darker between its expected
// trailing and leading edges, lighter over the band from latest to earliest (docs/dashboard.md).
// #/map/<RFC 3339 time> draws the plumes at that moment instead of now.
const SPACE_COLOR = { reservoir: '#1f5fa8', sluice: '#6b4fbb', diversion: '#0e8f8f', pond: '#7a8c3a' };
const mapFmt = (v) => (Math.round(v * 100) / 100).toFixed(2);

// mapLine is a river's course: its sites with coordinates, by km (outfalls, which sit beside
// the river, only when fewer than two others have coordinates). pointAt(km) interpolates
// lon/lat between them, and extrapolates beyond the ends along the end segments.
function mapLine(sites) {
  const has = (s) => Number.isFinite(s.lat) && Number.isFinite(s.lon) && (s.lat !== 0 || s.lon !== 0);
  let anchors = sites.filter((s) => s.kind !== 'outfall' && has(s));
  if (anchors.length < 2) anchors = sites.filter(has);
  anchors = anchors.map((s) => ({ km: s.km, lon: s.lon, lat: s.lat })).sort((a, b) => a.km - b.km)
    .filter((a, i, all) => i === 0 || a.km > all[i - 1].km);
  if (anchors.length < 2) return null;
  const pointAt = (km) => {
    let i = anchors.findIndex((a) => a.km >= km);
    if (i <= 0) i = i === 0 ? 1 : anchors.length - 1;
    const a = anchors[i - 1], b = anchors[i], f = (km - a.km) / (b.km - a.km);
    return { lon: a.lon + f * (b.lon - a.lon), lat: a.lat + f * (b.lat - a.lat) };
  };
  // between lists the course from km a to km b: its ends and the anchors inside.
  const between = (a, b) => [pointAt(a), ...anchors.filter((p) => p.km > a && p.km < b), pointAt(b)];
  return { anchors, pointAt, between };
}

// plumeAt says where a prediction's edges are at time `at`, in km downstream of its origin
// along the way to its site. Each edge leaves the origin at the release's start and moves at
// the constant speed that brings it to the site at its predicted time (the leading edge at
// `leading`, the trailing at `trailing`; the band's downstream edge at `earliest`, its
// upstream one at `latest`), so the plume lengthens as it travels, as dispersion spreads
// it. Without a trailing (latest) time the release has not ended: that edge is at the
// origin. Positions are clipped to the way (0..distance_km): the window says nothing beyond
// the site. Null before the release and once the band has passed the site.
function plumeAt(p, at) {
  const t0 = Date.parse(p.release_start), now = at.getTime(), D = Number(p.distance_km);
  if (!(D > 0) || !Number.isFinite(t0) || now < t0) return null;
  const pos = (iso) => {
    const te = Date.parse(iso || '');
    if (!Number.isFinite(te)) return 0;
    if (!(te > t0)) return D;
    return Math.min(D, Math.max(0, (D * (now - t0)) / (te - t0)));
  };
  const r = { lead: pos(p.leading), trail: p.trailing ? pos(p.trailing) : 0, bandTo: pos(p.earliest), bandFrom: p.latest ? pos(p.latest) : 0 };
  if (r.bandFrom >= D && r.trail >= D) return null;
  return r;
}

// mapPredictions are the open predictions of the active incidents for sites the token sees,
// once each (an incident holds one per site, parameter and origin; two incidents may share one).
function mapPredictions(incidents, byId) {
  const seen = new Set(), out = [];
  for (const inc of incidents || []) {
    for (const p of inc.predictions || []) {
      const key = `${p.site}|${p.origin}|${p.parameter}|${p.release_start}`;
      if (!byId[p.site] || seen.has(key)) continue;
      seen.add(key);
      out.push({ ...p, incident: inc.id });
    }
  }
  return out;
}

async function renderMap(arg) {
  const fixed = arg && Number.isFinite(Date.parse(arg));
  const at = fixed ? new Date(arg) : new Date();
  const [sites, rivers, incidents] = await Promise.all([
    api('/api/v1/sites'), caches.rivers || api('/api/v1/rivers'),
    // Without the incidents (a failure) the map still shows the rivers and sites.
    api('/api/v1/incidents?status=active').then((r) => r.data.items, () => []),
  ]);
  caches.rivers = rivers;
  const items = sites.data.items;
  const byId = Object.fromEntries(items.map((s) => [s.id, s]));
  const preds = mapPredictions(incidents, byId);
  const name = (id) => byId[id]?.name || id;
  const rows = preds.map((p) => {
    const w = plumeAt(p, at);
    const where = w ? `${esc(t('map.front'))} ${t('site.km')} ${fmtNum(byId[p.site].km - p.distance_km + w.lead)}` : '';
    return `<tr data-prediction="${esc(p.site + '|' + p.origin + '|' + p.parameter)}"><td>${esc(name(p.origin))} → <a href="#/site/${encodeURIComponent(p.site)}">${esc(name(p.site))}</a></td>
      <td>${esc(p.parameter)}</td><td>${esc(fmtTime(p.earliest))}</td><td>${esc(fmtTime(p.leading))}</td><td>${esc(fmtTime(p.peak))} ${p.peak_concentration ? `${fmtNum(p.peak_concentration)} ${esc(p.unit || '')}` : ''}</td>
      <td>${esc(fmtTime(p.trailing))}</td><td>${esc(fmtTime(p.latest))}</td><td>${where}</td><td data-testid="intercept">${interceptText(p, at)}</td></tr>`;
  }).join('');
  view().innerHTML = `
    <div class="card"><div class="toolbar"><h2 class="flush">${esc(t('map.title'))}</h2><span class="grow"></span>
      <span class="muted" data-testid="map-at">${esc(t('map.at'))} ${esc(fmtTime(at.toISOString()))}</span></div>
      ${riverMap(rivers.data, items, preds, at)}${legend()}${mapLegend()}</div>
    <div class="card"><h2 class="flush">${esc(t('map.plumes'))}</h2>
      ${rows ? `<div class="scroll-x"><table data-testid="plume-list"><thead><tr><th>${esc(t('col.route'))}</th><th>${esc(t('col.param'))}</th><th>${esc(t('win.earliest'))}</th><th>${esc(t('win.leading'))}</th>
        <th>${esc(t('win.peak'))}</th><th>${esc(t('win.trailing'))}</th><th>${esc(t('win.latest'))}</th><th>${esc(t('map.now'))}</th><th>${esc(t('map.intercept'))}</th></tr></thead><tbody>${rows}</tbody></table></div>`
        : `<p class="muted" data-testid="plume-none">${esc(t('map.noplume'))}</p>`}</div>`;
  view().querySelectorAll('.rivermap .site').forEach((g) => g.addEventListener('click', () => { location.hash = `#/site/${encodeURIComponent(g.dataset.site)}`; }));
}

// interceptText is where a prediction at an intake recommends stopping its plume (its
// interception: the space, and when the earliest leading edge reaches it), with the time
// left at the moment shown; or why there is none.
function interceptText(p, at) {
  const i = p.interception;
  if (!i || !i.space) return esc(p.interception_none_reason || '');
  const left = Date.parse(i.act_by) - at.getTime();
  const h = Math.floor(left / 3600e3), m = Math.floor((left % 3600e3) / 60e3);
  const when = Number.isFinite(left) ? (left > 0 ? `${t('map.left')} ${h ? `${h} h ` : ''}${m} min` : t('map.passed')) : '';
  return `${esc(i.name || i.space)} <span class="muted">(${esc(t('space.' + i.kind))} ${esc(t('site.km'))} ${fmtNum(i.km)})</span><br>${esc(t('map.actBy'))} ${esc(fmtTime(i.act_by))} · <span data-testid="intercept-left">${esc(when)}</span>`;
}

function mapLegend() {
  const sw = (svg, label) => `<span><svg class="swatch" viewBox="0 0 28 16" width="28" height="16">${svg}</svg>${esc(label)}</span>`;
  return `<div class="legend" data-testid="map-legend">
    ${sw('<rect x="8" y="2" width="12" height="12" fill="#8895a7"/>', t('kind.outfall'))}
    ${sw('<circle cx="14" cy="8" r="4.5" fill="#42cc70"/><circle cx="14" cy="8" r="7" fill="none" stroke="#1f5fa8" stroke-width="2"/>', t('kind.drinking_source'))}
    ${sw(`<path d="M14,1 L21,8 L14,15 L7,8 z" fill="${SPACE_COLOR.reservoir}"/>`, t('map.space'))}
    ${sw(`<circle class="rec" cx="14" cy="8" r="6.5"/><path d="M14,4 L18,8 L14,12 L10,8 z" fill="${SPACE_COLOR.sluice}"/>`, t('map.intercept'))}
    ${sw('<line x1="1" y1="8" x2="27" y2="8" class="plume-band"/>', t('win.band'))}
    ${sw('<line x1="1" y1="8" x2="27" y2="8" class="plume-core"/>', t('win.core'))}</div>`;
}

// riverMap is the SVG: an equirectangular projection of the sites' box (longitude scaled by
// the cosine of the mean latitude, so a km is as long east–west as north–south), north up.
function riverMap(rivers, sites, preds, at) {
  const W = 900, H = 640, pad = 60;
  const riverList = rivers.items || [];
  const jn = Object.fromEntries((rivers.jurisdictions || []).map((j) => [j.id, j.name]));
  const lines = {};
  for (const r of riverList) {
    const line = mapLine(sites.filter((s) => s.river === r.id));
    if (line) lines[r.id] = line;
  }
  const spaces = riverList.flatMap((r) => (r.emergency_spaces || []).map((sp) => ({ ...sp, river: r.id })))
    .filter((sp) => lines[sp.river] && Number.isFinite(Number(sp.km)));
  // Every point drawn, for the box: the sites, the spaces, each river's course.
  const pts = sites.filter((s) => s.lat || s.lon).map((s) => ({ lon: s.lon, lat: s.lat }));
  spaces.forEach((sp) => pts.push(lines[sp.river].pointAt(Number(sp.km))));
  if (!pts.length) return `<p class="muted" data-testid="map-nocoords">${esc(t('map.nocoords'))}</p>`;
  const lat0 = pts.reduce((a, p) => a + p.lat, 0) / pts.length, k = Math.cos((lat0 * Math.PI) / 180);
  const minX = Math.min(...pts.map((p) => p.lon * k)), maxX = Math.max(...pts.map((p) => p.lon * k));
  const minY = Math.min(...pts.map((p) => p.lat)), maxY = Math.max(...pts.map((p) => p.lat));
  // A box of at least 0.1° each way: one site alone (a token of one jurisdiction) is not a point at infinite zoom.
  const scale = Math.min((W - 2 * pad - 160) / Math.max(maxX - minX, 0.1), (H - 2 * pad) / Math.max(maxY - minY, 0.1));
  const ox = (W - (maxX - minX) * scale) / 2, oy = (H - (maxY - minY) * scale) / 2;
  const xy = (p) => [ox + (p.lon * k - minX) * scale, H - oy - (p.lat - minY) * scale];
  const d = (ps) => ps.map((p, i) => { const [x, y] = xy(p); return `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`; }).join('');
  let out = `<svg class="rivermap" viewBox="0 0 ${W} ${H}" role="img" data-testid="rivermap" xmlns="http://www.w3.org/2000/svg">
    <defs><marker id="mapflow" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="4" markerHeight="4" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#6aaee6"/></marker></defs>
    <g transform="translate(30,40)"><path d="M0,-16 L7,4 L0,0 L-7,4 z" fill="#12355b"/><text x="12" y="0" font-size="12" fill="#12355b">${state.lang === 'zh' ? '北' : 'N'}</text></g>`;
  // A scale bar of a round number of km near a sixth of the width.
  const kmPx = scale / 111.32, want = (W / 6) / kmPx, step = [1, 2, 5, 10, 20, 50, 100].find((v) => v >= want / 1.5) || 100;
  out += `<g class="scale" data-testid="map-scale"><line x1="30" y1="${H - 20}" x2="${(30 + step * kmPx).toFixed(1)}" y2="${H - 20}"/><text x="30" y="${H - 26}">${step} km</text></g>`;
  for (const r of riverList) {
    const line = lines[r.id];
    if (!line) continue;
    const kms = [...line.anchors.map((a) => a.km), ...spaces.filter((sp) => sp.river === r.id).map((sp) => Number(sp.km))];
    const lo = Math.min(...kms), hi = Math.max(...kms);
    line.lo = lo;
    const course = line.between(lo, hi);
    // The name under the upstream end: the downstream one has the flow's arrow.
    const [nx, ny] = xy(course[0]);
    out += `<path class="river" data-river="${esc(r.id)}" d="${d(course)}" marker-end="url(#mapflow)"/>
      <text class="river-name" x="${nx.toFixed(1)}" y="${(ny + 34).toFixed(1)}" text-anchor="middle">${esc(r.name)}</text>`;
  }
  // The plumes, under the markers.
  for (const p of preds) {
    const site = sites.find((s) => s.id === p.site), line = site && lines[site.river], w = line && plumeAt(p, at);
    if (!w) continue;
    // The plume is drawn on its site's river, from no further up than the river is drawn:
    // a way that comes down a tributary shows from the river's drawn start.
    const origin = site.km - p.distance_km, id = `${p.site}|${p.origin}|${p.parameter}`;
    const seg = (cls, a0, b) => { const a = Math.max(a0, (line.lo ?? origin) - origin); return b > a ? `<path class="${esc(cls)}" data-prediction="${esc(id)}" data-from-km="${mapFmt(origin + a)}" data-to-km="${mapFmt(origin + b)}" d="${d(line.between(origin + a, origin + b))}"><title>${esc(p.parameter)} ${esc(t(cls === 'plume-core' ? 'win.core' : 'win.band'))}: ${t('site.km')} ${fmtNum(origin + a)}–${fmtNum(origin + b)}</title></path>` : ''; };
    out += seg('plume-band', w.bandFrom, w.bandTo) + seg('plume-core', w.trail, w.lead);
  }
  for (const sp of spaces) {
    const [x, y] = xy(lines[sp.river].pointAt(Number(sp.km)));
    const op = sp.operated_by ? ` · ${jn[sp.operated_by.jurisdiction] || sp.operated_by.jurisdiction || ''} ${roleName(sp.operated_by.role || '')}` : '';
    const tip = `${sp.name} (${t('space.' + sp.kind)}) ${t('site.km')} ${fmtNum(Number(sp.km))}${sp.capacity_m3 ? ` · ${t('space.capacity')} ${fmtNum(Number(sp.capacity_m3))} m³` : ''}${op}`;
    // The space a prediction recommends for intercepting its plume (its interception) is ringed.
    const rec = preds.some((p) => p.interception && p.interception.space === sp.id);
    out += `<g class="space" data-space="${esc(sp.id)}" data-kind="${esc(sp.kind)}" data-km="${esc(mapFmt(Number(sp.km)))}" data-recommended="${rec ? '1' : ''}"><title>${esc(tip)}</title>
      ${rec ? `<circle class="rec" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="14"/>` : ''}
      <path d="M${x.toFixed(1)},${(y - 9).toFixed(1)} L${(x + 9).toFixed(1)},${y.toFixed(1)} L${x.toFixed(1)},${(y + 9).toFixed(1)} L${(x - 9).toFixed(1)},${y.toFixed(1)} z" fill="${SPACE_COLOR[sp.kind] || SPACE_COLOR.reservoir}"/>
      <text x="${(x - 13).toFixed(1)}" y="${(y + 4).toFixed(1)}" text-anchor="end">${esc(sp.name)}</text></g>`;
  }
  for (const s of sites) {
    const line = lines[s.river];
    const p = s.lat || s.lon ? { lon: s.lon, lat: s.lat } : line?.pointAt(s.km);
    if (!p) continue;
    const [x, y] = xy(p);
    const tip = `${s.name} (${s.id}) ${t('site.km')} ${fmtNum(s.km)} ${s.class ? roman(s.class) + ' ' + descriptor(s.descriptor) : ''} ${t('status.' + s.status)}`;
    if (s.kind === 'outfall') {
      const [rx, ry] = line ? xy(line.pointAt(s.km)) : [x, y];
      out += `<g class="site" data-site="${esc(s.id)}" data-kind="outfall" data-status="${esc(s.status)}" tabindex="0"><title>${esc(tip)}</title>
        <line class="outlet" x1="${x.toFixed(1)}" y1="${y.toFixed(1)}" x2="${rx.toFixed(1)}" y2="${ry.toFixed(1)}"/>
        <rect class="dot" x="${(x - 7).toFixed(1)}" y="${(y - 7).toFixed(1)}" width="14" height="14" fill="${s.status === 'exceeding' ? '#ed5466' : '#8895a7'}"/>
        <text x="${(x - 12).toFixed(1)}" y="${(y + 4).toFixed(1)}" text-anchor="end">${esc(s.name)}</text></g>`;
      continue;
    }
    out += `<g class="site" data-site="${esc(s.id)}" data-kind="${esc(s.kind)}" data-class="${esc(s.class)}" data-status="${esc(s.status)}" tabindex="0"><title>${esc(tip)}</title>
      ${s.status === 'exceeding' ? `<circle class="ring" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="15"/>` : ''}
      ${s.kind === 'drinking_source' ? `<circle class="src" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="12"/>` : ''}
      <circle class="dot" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="9" fill="${classColor(s.class)}"/>
      <text x="${(x + 18).toFixed(1)}" y="${(y + 4).toFixed(1)}">${esc(s.name)} <tspan class="cls">${s.class ? roman(s.class) : ''}</tspan></text></g>`;
  }
  return out + '</svg>';
}

// ---- predicted windows on the site chart --------------------------------------------------
// siteWindows are the plume windows predicted for a site: the prediction.issued events of the
// range (each reissue replaces the one before for the same origin, parameter and release)
// and the open predictions of the active incidents, both from scoped routes.
function siteWindows(id, events, incidents) {
  const byKey = new Map();
  const add = (p, at) => {
    if (!p || p.site !== id || !p.leading) return;
    const key = `${p.origin}|${p.parameter}|${p.release_start}`;
    const old = byKey.get(key);
    if (!old || at >= old.at) byKey.set(key, { ...p, at });
  };
  events.filter((e) => e.type === 'prediction.issued').forEach((e) => add(e.prediction, e.emitted_at || e.observed_at));
  // An incident's prediction is the current one: it wins over any event.
  (incidents || []).forEach((inc) => (inc.predictions || []).forEach((p) => add(p, '9999')));
  return [...byKey.values()];
}
// windowsEnd extends a chart's end to show the windows still ahead (at most two days on).
function windowsEnd(wins, to) {
  const ends = wins.map((w) => Date.parse(w.latest || w.trailing || w.peak)).filter(Number.isFinite);
  const end = Math.min(Math.max(to.getTime(), ...ends), to.getTime() + 48 * 3600e3);
  return end > to.getTime() ? new Date(end + (end - to.getTime()) * 0.05) : to;
}
// windowMarks draws a parameter's windows on its chart: the band (earliest..latest) light,
// leading..trailing darker, the peak a line; and, when the chart runs past now, a now line.
function windowMarks(wins, param, x, top, bottom, left, right, now) {
  const clip = (v) => Math.min(right, Math.max(left, v));
  const end = right;
  let out = '';
  for (const w of wins.filter((w) => w.parameter === param)) {
    const xs = (iso, fallback) => { const v = Date.parse(iso || ''); return Number.isFinite(v) ? clip(x(new Date(v))) : fallback; };
    const e = xs(w.earliest, left), l = xs(w.leading, e), pk = xs(w.peak, l), tr = xs(w.trailing, end), la = xs(w.latest, end);
    const key = `${w.origin}|${w.parameter}`;
    const tip = `${t('win.title')} ${w.origin} → ${w.site}: ${t('win.earliest')} ${fmtTime(w.earliest)}, ${t('win.leading')} ${fmtTime(w.leading)}, ${t('win.peak')} ${fmtTime(w.peak)}${w.trailing ? `, ${t('win.trailing')} ${fmtTime(w.trailing)}` : ''}${w.latest ? `, ${t('win.latest')} ${fmtTime(w.latest)}` : ''}`;
    out += `<g class="window" data-window="${esc(key)}"><title>${esc(tip)}</title>
      ${la > e ? `<rect class="win-band" x="${e.toFixed(1)}" y="${top}" width="${(la - e).toFixed(1)}" height="${bottom - top}"/>` : ''}
      ${tr > l ? `<rect class="win-core" x="${l.toFixed(1)}" y="${top}" width="${(tr - l).toFixed(1)}" height="${bottom - top}"/>` : ''}
      ${pk > left && pk < right ? `<line class="win-peak" x1="${pk.toFixed(1)}" x2="${pk.toFixed(1)}" y1="${top}" y2="${bottom}"/>` : ''}</g>`;
  }
  const nx = x(now);
  if (out && nx < right - 1) out += `<g class="now"><line x1="${nx.toFixed(1)}" x2="${nx.toFixed(1)}" y1="${top}" y2="${bottom}"/><text x="${(nx + 3).toFixed(1)}" y="${top + 10}">${esc(t('win.now'))}</text></g>`;
  return out;
}
function windowLegend() {
  const sw = (cls, label) => `<span><svg class="swatch" viewBox="0 0 28 16" width="28" height="16"><rect class="${esc(cls)}" x="0" y="0" width="28" height="16"/></svg>${esc(label)}</span>`;
  return `<div class="legend" data-testid="window-legend">${esc(t('win.title'))}: ${sw('win-band', t('win.band'))}${sw('win-core', t('win.core'))}
    <span><svg class="swatch" viewBox="0 0 28 16" width="28" height="16"><line class="win-peak" x1="14" x2="14" y1="0" y2="16"/></svg>${esc(t('win.peak'))}</span></div>`;
}

// ---- start --------------------------------------------------------------------------------
async function start() {
  applyStatic();
  if (!state.token) { askToken(); return; }
  try {
    state.me = (await api('/api/v1/me')).data;
  } catch (e) {
    return;
  }
  applyStatic();
  connectStream();
  await route();
}
setInterval(() => { if (state.me && document.visibilityState === 'visible') route(true); }, 60000);
start();
