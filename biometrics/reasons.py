"""Reason codes: what went wrong, and what the person can do, in Chinese and English.

Messages are short, concrete and polite: they are read by elderly people on
small screens. ``retry`` reasons describe something the person can fix; the
others explain a refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    RETRY = "retry"  # the person can fix it and try again
    FAIL = "fail"  # a refusal (not the same person, not live, challenge not done)
    INVALID = "invalid"  # the upload itself is unusable


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    kind: Kind
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "kind": self.kind.value, "zh": self.zh, "en": self.en}


_R = Reason
REASONS: dict[str, Reason] = {
    r.code: r
    for r in (
        # the upload
        _R("video_unreadable", Kind.INVALID, "视频无法读取，请重新录制", "The video cannot be read; please record it again"),
        _R("video_empty", Kind.INVALID, "视频是空的，请重新录制", "The video is empty; please record it again"),
        _R("no_video_track", Kind.INVALID, "文件里没有画面，请用摄像头录制视频", "The file has no picture; please record a video with the camera"),
        _R("video_format_unsupported", Kind.INVALID, "不支持的视频格式，请用手机相机录制", "This video format is not supported; please record with the phone camera"),
        _R("video_too_long", Kind.INVALID, "视频太长，请录制几秒钟即可", "The video is too long; a few seconds are enough"),
        _R("video_too_short", Kind.RETRY, "视频太短，请按提示完成全部动作", "The video is too short; please do all the actions shown"),
        _R("video_resolution_too_high", Kind.INVALID, "视频分辨率过高，请使用普通画质录制", "The video resolution is too high; please record in normal quality"),
        _R("video_resolution_too_low", Kind.RETRY, "视频画面太小，请使用更高画质录制", "The video picture is too small; please record in higher quality"),
        _R("video_too_large", Kind.INVALID, "视频文件太大，请重新录制短一点的视频", "The video file is too large; please record a shorter one"),
        _R("decode_timeout", Kind.INVALID, "视频处理超时，请重新录制", "The video took too long to process; please record it again"),
        # the face in the video
        _R("no_face", Kind.RETRY, "没有看到人脸，请把脸对准屏幕中的框", "No face was seen; please keep your face inside the frame"),
        _R("multiple_faces", Kind.RETRY, "画面中有多张人脸，请只让本人出现在镜头中", "More than one face is in the picture; only the person should be in view"),
        _R("face_lost", Kind.RETRY, "人脸离开了画面，请保持脸在框内", "The face left the picture; please keep your face inside the frame"),
        _R("face_too_small", Kind.RETRY, "离得太远了，请把手机拿近一点", "Too far away; please hold the phone closer"),
        _R("face_too_close", Kind.RETRY, "离得太近了，请把手机拿远一点", "Too close; please hold the phone a little further away"),
        _R("too_dark", Kind.RETRY, "光线太暗，请到明亮处", "Too dark; please move to a brighter place"),
        _R("too_bright", Kind.RETRY, "光线太强，请避开强光", "Too bright; please move away from strong light"),
        _R("backlit", Kind.RETRY, "背光太强，请背对窗户或灯光", "Strong light behind you; please face the window or the lamp"),
        _R("poor_capture", Kind.RETRY, "画面不够清楚，请在光线充足处正对镜头重新录制", "The picture is not clear enough; please face the camera in good light and record again"),
        _R("blurry", Kind.RETRY, "画面模糊，请拿稳手机并擦干净镜头", "The picture is blurry; please hold the phone still and clean the lens"),
        _R("pose_not_frontal", Kind.RETRY, "请正对手机屏幕", "Please look straight at the phone"),
        _R("eyes_occluded", Kind.RETRY, "眼睛被遮挡，请摘下墨镜或帽子", "Your eyes are covered; please take off sunglasses or a hat"),
        _R("mouth_occluded", Kind.RETRY, "嘴巴被遮挡，请摘下口罩", "Your mouth is covered; please take off the mask"),
        # the challenge
        _R("challenge_not_performed", Kind.RETRY, "没有看到要求的动作，请按提示慢慢做", "The requested actions were not seen; please follow the prompts slowly"),
        _R("challenge_wrong_order", Kind.RETRY, "动作顺序不对，请按提示的顺序做", "The actions were done in the wrong order; please follow the prompts in order"),
        # liveness and identity
        _R("liveness_failed", Kind.FAIL, "未能确认是本人现场操作", "We could not confirm a live person in front of the camera"),
        _R("still_image", Kind.FAIL, "画面是静止的照片，请本人现场录制", "The picture is a still photo; the person must record live"),
        _R("face_mismatch", Kind.FAIL, "与登记照片不是同一人", "The face does not match the registered photo"),
        _R("video_missing", Kind.INVALID, "视频已失效，请重新录制", "The video is no longer available; please record again"),
        _R("video_changed", Kind.INVALID, "视频在提交后被更换，请重新录制", "The video was replaced after it was submitted; please record again"),
        _R("template_model_mismatch", Kind.INVALID, "登记照片需要更新，请到服务网点办理", "The registered photo must be renewed; please visit a service point"),
        # enrolment photos
        _R("photo_missing", Kind.INVALID, "照片已失效，请重新上传", "The photo is no longer stored; please upload it again"),
        _R("photo_unreadable", Kind.INVALID, "照片无法读取", "The photo cannot be read"),
    )
}  # fmt: skip


def reason(code: str) -> Reason:
    return REASONS[code]
