"""The model data-use agreement the platform ships (version 1 until the authority saves its own).

It states every item CQ 25 and LYG 19 ask of the agreement: the data list (dataset, data items,
row scope), purpose, application scenario, security measures, period of use and what happens to
the data at its end, the access modes, the user's obligations (LYG 24: use only as applied for,
usage feedback), the provider's obligations, the records kept for inspection (LYG 21), breach and
its consequences (LYG 40), dispute resolution and the parties. The text is a sandboxed Jinja2
template of plain text; ``agreements.PLACEHOLDERS`` lists what it may use.
"""

from __future__ import annotations

MODEL_TITLE = "公共数据有条件开放数据利用协议"

MODEL_BODY = """\
{{ title }}

协议编号：{{ number }}
依据模板：第 {{ template_version }} 版

甲方（数据开放主体）：{{ provider.name }}
统一社会信用代码：{{ provider.uscc }}

乙方（数据利用主体）：{{ user.name }}
主体类型：{{ user.kind }}{% if user.id_masked %}　证件号码：{{ user.id_masked }}{% endif +%}
平台账号：{{ user.account }}

根据《中华人民共和国数据安全法》《中华人民共和国个人信息保护法》和{{ legal_sources }}，乙方通过{{ platform }}\
申请获取甲方有条件开放的公共数据，甲方经评估同意按本协议约定的条件开放。双方经协商一致，订立本协议。

第一条　数据清单
（一）数据集：{{ dataset.title }}（标识：{{ dataset.name }}）。
（二）开放的数据项：
{% for item in items %}
　　{{ loop.index }}. {{ item.title }}（{{ item.name }}）
{% endfor %}
（三）数据范围：{% if row_scope %}仅限同时满足下列条件的数据记录：
{% for condition in row_scope %}
　　{{ loop.index }}. {{ condition }}
{% endfor %}
{% else %}该数据集的全部数据记录。
{% endif %}
（四）直接标识个人或单位的数据项，平台按本协议单独生成假名后提供，乙方不得尝试还原。

第二条　数据用途
{{ purpose }}

第三条　应用场景
{{ scenario }}

第四条　安全保障措施
乙方承诺采取并持续落实下列安全保障措施：
{{ security_measures }}

第五条　使用期限及期满处置
（一）使用期限自 {{ valid_from }} 起至 {{ valid_until }} 止。
（二）使用期限届满、本协议解除或终止之日起五个工作日内，乙方应删除或销毁所获取的全部数据及其副本、\
衍生的可识别数据，并通过平台向甲方书面确认；需要继续使用的，应当在期满前重新提出申请。

第六条　获取方式
乙方通过平台以下列方式获取数据：{{ modes | join("、") }}。平台记录每一次下载、接口调用和处理。

第七条　乙方的义务
（一）仅按申请用途和应用场景利用数据，确保数据利用行为与数据开放申请信息保持一致，不得超出本协议约定的范围、期限和方式使用数据；
（二）{% if feedback %}{{ feedback }}通过平台向甲方反馈数据利用情况，包括利用成果、访问情况和安全措施落实情况；\
{% else %}甲方要求时，如实向甲方反馈数据利用情况；{% endif +%}
（三）不得以任何方式对数据进行重新识别，不得将数据与其他数据关联以识别特定自然人或单位；
（四）不得将数据或其副本以任何形式转让、出售、提供或者披露给第三方，不得用于本协议约定以外的目的；
（五）发生或者可能发生数据泄露、篡改、丢失等安全事件的，立即采取补救措施，并在二十四小时内报告甲方和平台运营单位；
（六）配合甲方和主管部门的监督检查，如实提供数据利用的有关情况。

第八条　甲方的义务
（一）按本协议约定的数据清单、范围、方式和期限通过平台提供数据，并对数据进行必要的脱敏处理；
（二）数据更新、更正或者撤回开放的，及时通过平台告知乙方；
（三）对乙方提交的申请材料和反馈信息依法保密；
（四）跟踪数据利用情况，对乙方的反馈进行审查。

第九条　记录留存与检查
平台对乙方的每一次数据获取、调用和处理留存记录（包括账号、时间、方式、数据范围和所提供文件的校验值），\
记录不可篡改，供甲方、主管部门和审计人员检查；乙方应自行留存数据利用记录，保存期限不少于使用期限届满后三年。

第十条　违约责任
乙方未履行本协议约定的义务，或者有损害国家利益、社会公共利益和他人合法权益等违法违规行为的，甲方或者主管部门\
有权立即暂停乙方的数据获取权限，并视情节撤销授权、终止本协议；乙方应停止使用并删除已获取的数据，依法承担相应责任。

第十一条　争议解决
因本协议发生的争议，双方应协商解决；协商不成的，可以提请{{ jurisdiction }}大数据主管部门协调，\
或者依法向甲方所在地人民法院提起诉讼。

第十二条　协议的生效
本协议经双方通过平台确认接受{% if authority_review %}，并经大数据主管部门审查通过{% endif %}后生效，\
平台记录各方确认的账号、时间、网络地址和协议文本的校验值。本协议文本以平台保存的版本为准。

甲方：{{ provider.name }}
乙方：{{ user.name }}
"""
