"""The synthetic material of the offline demo: a Telegram-format channel, an RSS feed, a website.

Every person, place and event here is invented ("بلدة المثال" is "Example Town"); the
channel says so in its description. The posts imitate the shapes researchers meet: death
bulletins with a photo, shelling reports, forwarded posts, replies, albums, a video, a
document, a link preview, in Arabic and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

CHANNEL_NAME = "mithal_witness"
CHANNEL_TITLE = "شاهد المثال | Mithal Witness"
CHANNEL_DESCRIPTION = ("قناة تجريبية: كل الأسماء والأحداث متخيلة. "
                       "Synthetic demo channel: every name and event here is invented.")
FIRST_ID = 101
POST_COUNT = 25
PAGE_SIZE = 10  # t.me/s shows about 20; fewer here so the demo walks 3 pages

_BULLETINS = [
    ("نعي | بلدة المثال<br/>استشهد الشاب سامر المثالي (٢٤ عاماً) إثر قصف استهدف الحي الشرقي "
     "في بلدة المثال صباح اليوم. الرحمة لروحه والصبر لأهله."),
    ("نعي | قرية النموذج<br/>توفيت السيدة هالة النموذجية (٥١ عاماً) متأثرة بجراحها في "
     "المستشفى الميداني بعد قصف السوق القديم."),
    ("نعي<br/>استشهد الطفل يامن الافتراضي (٩ أعوام) في غارة على حي الزيتون الشمالي "
     "في بلدة المثال."),
]
_REPORTS_AR = [
    "قصف مدفعي يستهدف الأحياء السكنية في بلدة المثال منذ ساعات الفجر، وأنباء عن إصابات.",
    "خروج مستشفى المثال الميداني عن الخدمة بعد استهدافه بغارتين، ونقل المرضى إلى قرية النموذج.",
    "فرق الدفاع المدني تنتشل ثلاثة مدنيين من تحت الأنقاض في الحي الغربي.",
    "انقطاع الكهرباء والمياه عن بلدة المثال لليوم الثالث على التوالي.",
]
_REPORTS_EN = [
    "Shelling reported on residential streets of Example Town since dawn; civil defence teams deployed.",
    "The field hospital in Example Town was hit twice this morning and is out of service.",
    "Three civilians were pulled from the rubble in the western quarter, according to local volunteers.",
]


@dataclass
class DemoPhoto:
    key: str
    path: str
    url: str = ""


@dataclass
class DemoVideo:
    key: str
    path: str
    duration: str
    url: str = ""
    thumb_url: str = ""


@dataclass
class DemoPost:
    id: int
    html: str
    datetime: str
    time: str
    views: str
    photos: list[DemoPhoto] = field(default_factory=list)
    videos: list[DemoVideo] = field(default_factory=list)
    forwarded_from: dict | None = None
    reply_to: dict | None = None
    document: dict | None = None
    preview: dict | None = None
    signature: str | None = None
    edited: bool = False
    view_token: str = ""


def channel_posts(start: datetime | None = None) -> list[DemoPost]:
    """POST_COUNT posts with ids FIRST_ID.., one every 3 hours, in a fixed varied pattern."""
    start = start or datetime(2026, 10, 1, 6, 0, tzinfo=timezone.utc)
    posts: list[DemoPost] = []
    for n in range(POST_COUNT):
        pid = FIRST_ID + n
        when = start + timedelta(hours=3 * n, minutes=7 * n % 60)
        kind = n % 6
        post = DemoPost(
            id=pid, html="", datetime=when.isoformat(), time=when.strftime("%H:%M"),
            views=f"{1.2 + n * 0.3:.1f}K", view_token=f"demo{pid}",
        )
        if kind == 0:
            post.html = _BULLETINS[(n // 6) % len(_BULLETINS)]
            post.photos = [DemoPhoto(f"p{pid}", f"/file/bulletin-{pid}.jpg")]
            post.signature = "مراسل المثال"
        elif kind == 1:
            post.html = _REPORTS_AR[n % len(_REPORTS_AR)]
            post.photos = [DemoPhoto(f"p{pid}a", f"/file/scene-{pid}-a.jpg"),
                           DemoPhoto(f"p{pid}b", f"/file/scene-{pid}-b.jpg")]
        elif kind == 2:
            post.html = _REPORTS_EN[n % len(_REPORTS_EN)]
            post.videos = [DemoVideo(f"v{pid}", f"/file/clip-{pid}.mp4", "0:01")]
        elif kind == 3:
            post.html = _REPORTS_AR[(n + 1) % len(_REPORTS_AR)]
            post.forwarded_from = {"name": "namudhaj_news", "post": 3000 + n, "title": "أخبار النموذج"}
            post.photos = [DemoPhoto(f"p{pid}", f"/file/forward-{pid}.jpg")]
        elif kind == 4:
            post.html = ("تحديث: ارتفاع عدد الضحايا إلى خمسة. Update: the toll has risen to five.")
            post.reply_to = {"id": pid - 1, "snippet": "قصف مدفعي يستهدف الأحياء السكنية"}
            post.edited = True
        else:
            post.html = ("تقرير موثق عن الأضرار في بلدة المثال: "
                         '<a href="https://example.org/report-demo" target="_blank" rel="noopener">'
                         "example.org/report-demo</a>")
            post.document = {"title": f"تقرير-الأضرار-{pid}.pdf", "extra": "1.4 MB"}
            post.preview = {"url": "https://example.org/report-demo", "site_name": "Example Org",
                            "title": "Damage report (synthetic)",
                            "description": "A synthetic report used by the tawthiq demo.",
                            "image_url": f"/file/preview-{pid}.jpg"}
        posts.append(post)
    return posts


FEED_ITEMS = [
    {"slug": "report-1", "title": "قصف على بلدة المثال", "lang": "ar",
     "body": "<p>أفاد سكان بلدة المثال بسقوط قذائف على السوق القديم صباح اليوم.</p>"},
    {"slug": "report-2", "title": "Field hospital out of service in Example Town", "lang": "en",
     "body": "<p>The field hospital in Example Town stopped receiving patients after two strikes.</p>"},
    {"slug": "report-3", "title": "نعي: سامر المثالي", "lang": "ar",
     "body": "<p>ننعى الشاب سامر المثالي الذي استشهد في قصف الحي الشرقي.</p>"},
    {"slug": "report-4", "title": "Water cut for a third day", "lang": "en",
     "body": "<p>Residents of Example Town have had no running water for three days.</p>"},
]
