"""The 31 provincial-level divisions (GB/T 2260 codes) and their capital cities."""

PROVINCES = [
    ("11", "北京市", "Beijing", "110100", "北京市", "Beijing"),
    ("12", "天津市", "Tianjin", "120100", "天津市", "Tianjin"),
    ("13", "河北省", "Hebei", "130100", "石家庄市", "Shijiazhuang"),
    ("14", "山西省", "Shanxi", "140100", "太原市", "Taiyuan"),
    ("15", "内蒙古自治区", "Inner Mongolia", "150100", "呼和浩特市", "Hohhot"),
    ("21", "辽宁省", "Liaoning", "210100", "沈阳市", "Shenyang"),
    ("22", "吉林省", "Jilin", "220100", "长春市", "Changchun"),
    ("23", "黑龙江省", "Heilongjiang", "230100", "哈尔滨市", "Harbin"),
    ("31", "上海市", "Shanghai", "310100", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu", "320100", "南京市", "Nanjing"),
    ("33", "浙江省", "Zhejiang", "330100", "杭州市", "Hangzhou"),
    ("34", "安徽省", "Anhui", "340100", "合肥市", "Hefei"),
    ("35", "福建省", "Fujian", "350100", "福州市", "Fuzhou"),
    ("36", "江西省", "Jiangxi", "360100", "南昌市", "Nanchang"),
    ("37", "山东省", "Shandong", "370100", "济南市", "Jinan"),
    ("41", "河南省", "Henan", "410100", "郑州市", "Zhengzhou"),
    ("42", "湖北省", "Hubei", "420100", "武汉市", "Wuhan"),
    ("43", "湖南省", "Hunan", "430100", "长沙市", "Changsha"),
    ("44", "广东省", "Guangdong", "440100", "广州市", "Guangzhou"),
    ("45", "广西壮族自治区", "Guangxi", "450100", "南宁市", "Nanning"),
    ("46", "海南省", "Hainan", "460100", "海口市", "Haikou"),
    ("50", "重庆市", "Chongqing", "500100", "重庆市", "Chongqing"),
    ("51", "四川省", "Sichuan", "510100", "成都市", "Chengdu"),
    ("52", "贵州省", "Guizhou", "520100", "贵阳市", "Guiyang"),
    ("53", "云南省", "Yunnan", "530100", "昆明市", "Kunming"),
    ("54", "西藏自治区", "Tibet", "540100", "拉萨市", "Lhasa"),
    ("61", "陕西省", "Shaanxi", "610100", "西安市", "Xi'an"),
    ("62", "甘肃省", "Gansu", "620100", "兰州市", "Lanzhou"),
    ("63", "青海省", "Qinghai", "630100", "西宁市", "Xining"),
    ("64", "宁夏回族自治区", "Ningxia", "640100", "银川市", "Yinchuan"),
    ("65", "新疆维吾尔自治区", "Xinjiang", "650100", "乌鲁木齐市", "Urumqi"),
]


def load_provinces(apps, schema_editor=None):
    Province = apps.get_model("entities", "Province")
    City = apps.get_model("entities", "City")
    for code, name, name_en, city_code, city_name, city_en in PROVINCES:
        Province.objects.update_or_create(code=code, defaults={"name": name, "name_en": name_en})
        City.objects.update_or_create(code=city_code, defaults={"province_id": code, "name": city_name,
                                                                "name_en": city_en})
