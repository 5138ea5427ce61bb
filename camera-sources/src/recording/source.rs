//! [`McapSource`]: an MCAP recording played as a camera.
//!
//! Which channels it plays: the colour topic is the one named (`color_topic`), else
//! `/camera/color/image_raw` when the file has it, else the first `sensor_msgs/msg/Image`
//! channel whose first message is `rgb8` or `bgr8`; depth likewise (`depth_topic`,
//! `/camera/depth/image_rect_raw`, else the first Image channel in `16UC1`, `mono16` or
//! `32FC1`). A colour image makes a frame with the depth image of the same stamp (before or
//! after it in the file), else with the newest depth before the next colour image; the camera
//! info and `/aaa/metadata` are the newest before it (the recorder writes them first).
//! Depth must be the colour image's size (aligned to colour).
//!
//! With `/aaa/metadata` (recordings made by `aaa-camera-daemon record`) the frames keep their
//! source kind, frame numbers, intrinsics and exact depth scale, so synthetic frames still
//! verify; without it the frames count from 1, intrinsics come from the camera info and
//! depth is in millimetres (or the scale `32FC1` is turned into units with: 1 mm).
//! Ground truth objects of synthetic frames are not replayed. Frames of another size than the
//! first (the recorded daemon changed mode) are skipped with a warning.

use std::collections::HashMap;
use std::path::Path;

use ros_messages::frame_messages::{
    self, encodings, CAMERA_INFO_TOPIC, COLOR_TOPIC, DEPTH_TOPIC, METADATA_TOPIC,
};
use ros_messages::{camera_info, image, string_message, CameraInfo, Image, StringMessage};
use shmproto::{FrameMetadata, Geometry, SourceKind};

use super::mcap_stream::{ChannelInfo, McapStream, MessageHeader};
use super::{RecordingConfig, RecordingError};
use crate::replay_pacing::ReplayPacer;
use crate::{CapturedFrame, GroundTruth, Source, SourceError, SourceInfo};

/// What a channel is to the replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Color,
    Depth,
    CameraInfo,
    Metadata,
    Ignored,
}

/// Schema names as ROS 2 (`pkg/msg/Type`) and ROS 1 style tools (`pkg/Type`) write them.
fn schema_is(channel: &ChannelInfo, name: &str) -> bool {
    channel.schema_name == name || channel.schema_name == name.replacen("/msg/", "/", 1)
}

fn is_color_encoding(encoding: &str) -> bool {
    matches!(encoding, encodings::RGB8 | encodings::BGR8)
}

fn is_depth_encoding(encoding: &str) -> bool {
    matches!(
        encoding,
        encodings::DEPTH_16UC1 | encodings::MONO16 | encodings::DEPTH_32FC1
    )
}

/// What one message led to.
enum MessageOutcome {
    More,
    Frame(Assembled),
    End,
}

/// A colour image waiting for the depth of its stamp.
#[derive(Debug, Clone, Copy)]
struct PendingColor {
    stamp_ns: u64,
    recorded_ns: u64,
}

/// One frame put together from the file, ready to deliver.
#[derive(Debug, Default)]
struct Assembled {
    recorded_ns: u64,
    frame_number: u64,
}

pub struct McapSource {
    config: RecordingConfig,
    stream: McapStream,
    roles: HashMap<u16, Role>,
    color_channel: Option<u16>,
    depth_channel: Option<u16>,
    /// Topics of image channels passed over, for the errors and warnings.
    passed_over: Vec<String>,
    geometry: Geometry,
    info: SourceInfo,
    pacer: ReplayPacer,
    /// The first frame, read at open, delivered first.
    first: Option<(CapturedFrame, Assembled)>,
    /// The newest messages before the next colour one.
    depth_z16: Vec<u8>,
    depth_size: Option<(u32, u32, u64)>,
    metadata: Option<FrameMetadata>,
    camera_info: Option<CameraInfo>,
    frames_read: u64,
    frames_skipped: u64,
    /// The message being read, reused.
    message: Vec<u8>,
    /// The colour image in the frame being put together, waiting for its depth.
    pending_color: Option<PendingColor>,
    /// A message read but not taken yet (in `message`): it is taken next.
    held: Option<MessageHeader>,
    /// The colour images' size, once known (the first frame's).
    size: Option<(u32, u32)>,
}

fn bad(path: &Path, error: RecordingError) -> SourceError {
    SourceError::BadRecording {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

impl McapSource {
    /// Opens the file and reads its first frame.
    pub fn open(config: RecordingConfig) -> Result<Self, SourceError> {
        let stream = McapStream::open(&config.path).map_err(|error| bad(&config.path, error))?;
        let mut source = McapSource {
            pacer: ReplayPacer::new(config.rate),
            stream,
            roles: HashMap::new(),
            color_channel: None,
            depth_channel: None,
            passed_over: Vec::new(),
            geometry: Geometry::rgbd(1, 1),
            info: SourceInfo {
                kind: SourceKind::Other,
                description: String::new(),
                intrinsics: None,
                depth_scale_m: None,
                depth_aligned_to_color: false,
            },
            first: None,
            depth_z16: Vec::new(),
            depth_size: None,
            metadata: None,
            camera_info: None,
            frames_read: 0,
            frames_skipped: 0,
            message: Vec::new(),
            pending_color: None,
            held: None,
            size: None,
            config,
        };
        let mut frame = CapturedFrame::default();
        // A first pass over two frames' messages learns which channel is what (a depth
        // channel may first speak after the first colour image); then from the start.
        for _ in 0..2 {
            match source.read_frame(&mut frame) {
                Ok(Some(_)) => {}
                Ok(None) | Err(RecordingError::Truncated) => break,
                Err(error) => return Err(bad(&source.config.path, error)),
            }
        }
        source
            .rewind()
            .map_err(|error| bad(&source.config.path, error))?;
        source.metadata = None;
        source.camera_info = None;
        source.frames_read = 0;
        source.size = None;
        let assembled = match source.read_frame(&mut frame) {
            Ok(Some(assembled)) => assembled,
            Ok(None) => {
                let found = source.found_topics();
                return Err(bad(&source.config.path, RecordingError::NoColor { found }));
            }
            Err(error) => return Err(bad(&source.config.path, error)),
        };
        source.info = source.first_info();
        source.geometry = Geometry {
            depth: source.depth_channel.and(source.geometry.depth),
            ..source.geometry
        };
        if source.depth_channel.is_none() {
            source.info.depth_scale_m = None;
            source.info.depth_aligned_to_color = false;
        }
        tracing::info!(
            "playing recording {}: {}x{}{}, colour {}{}",
            source.config.path.display(),
            source.geometry.width,
            source.geometry.height,
            if source.geometry.depth.is_some() {
                " with depth"
            } else {
                ", colour only"
            },
            source.topic(source.color_channel),
            source
                .depth_channel
                .map(|id| format!(", depth {}", source.topic(Some(id))))
                .unwrap_or_default(),
        );
        source.first = Some((frame, assembled));
        Ok(source)
    }

    fn topic(&self, channel: Option<u16>) -> String {
        channel
            .and_then(|id| self.stream.channels.get(&id))
            .map_or_else(String::new, |channel| channel.topic.clone())
    }

    /// The channels seen, for an error that says what the file holds.
    fn found_topics(&self) -> String {
        let mut topics: Vec<String> = self
            .stream
            .channels
            .values()
            .map(|channel| format!("{} ({})", channel.topic, channel.schema_name))
            .collect();
        topics.sort();
        let mut found = if topics.is_empty() {
            "no channels".to_owned()
        } else {
            format!("channels {}", topics.join(", "))
        };
        if !self.passed_over.is_empty() {
            found.push_str(&format!(
                "; image topics without a playable encoding: {}",
                self.passed_over.join(", ")
            ));
        }
        found.push_str(
            " (expected sensor_msgs/msg/Image in rgb8 or bgr8, CDR; name it with --color-topic)",
        );
        found
    }

    /// What the replayed frames say of their source: the recorded metadata's when there is
    /// one, else the camera info's intrinsics.
    fn first_info(&self) -> SourceInfo {
        let name = self
            .config
            .path
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        match &self.metadata {
            Some(metadata) => SourceInfo {
                kind: metadata.source_kind,
                description: format!("recording {name} of {}", metadata.source_description),
                intrinsics: metadata.intrinsics,
                depth_scale_m: metadata.depth_scale_m,
                depth_aligned_to_color: metadata.depth_aligned_to_color,
            },
            None => SourceInfo {
                kind: SourceKind::Other,
                description: format!("recording {name}"),
                intrinsics: self
                    .camera_info
                    .as_ref()
                    .map(frame_messages::intrinsics_from_camera_info),
                depth_scale_m: self.info.depth_scale_m,
                depth_aligned_to_color: true,
            },
        }
    }

    /// Decides what a channel is at its first message.
    fn role(&mut self, channel_id: u16, data: &[u8]) -> Role {
        if let Some(role) = self.roles.get(&channel_id) {
            return *role;
        }
        let Some(channel) = self.stream.channels.get(&channel_id).cloned() else {
            return Role::Ignored;
        };
        let role = self.classify(&channel, data);
        match role {
            Role::Color => self.color_channel = Some(channel_id),
            Role::Depth => self.depth_channel = Some(channel_id),
            _ => {}
        }
        self.roles.insert(channel_id, role);
        role
    }

    fn classify(&mut self, channel: &ChannelInfo, data: &[u8]) -> Role {
        if channel.message_encoding != "cdr" {
            return Role::Ignored;
        }
        let topic = channel.topic.as_str();
        if schema_is(channel, string_message::SCHEMA_NAME) && topic == METADATA_TOPIC {
            return Role::Metadata;
        }
        if schema_is(channel, camera_info::SCHEMA_NAME) {
            let named = self.config.color_topic.as_deref().unwrap_or(COLOR_TOPIC);
            let expected = named.rsplit_once('/').map_or("", |(parent, _)| parent);
            // The camera info beside the colour images, or the only one there is.
            if topic == CAMERA_INFO_TOPIC
                || topic.starts_with(expected)
                || self.camera_info.is_none()
            {
                return Role::CameraInfo;
            }
            return Role::Ignored;
        }
        if !schema_is(channel, image::SCHEMA_NAME) {
            return Role::Ignored;
        }
        let has_topic = |wanted: &str| {
            self.stream
                .channels
                .values()
                .any(|channel| channel.topic == wanted)
        };
        let wanted_color = match &self.config.color_topic {
            Some(named) => Some(named.clone()),
            None => has_topic(COLOR_TOPIC).then(|| COLOR_TOPIC.to_owned()),
        };
        let wanted_depth = match &self.config.depth_topic {
            Some(named) => Some(named.clone()),
            None => has_topic(DEPTH_TOPIC).then(|| DEPTH_TOPIC.to_owned()),
        };
        if wanted_color.as_deref() == Some(topic) {
            return Role::Color;
        }
        if wanted_depth.as_deref() == Some(topic) {
            return Role::Depth;
        }
        let encoding = Image::decode(data)
            .map(|image| image.encoding)
            .unwrap_or_default();
        if wanted_color.is_none() && self.color_channel.is_none() && is_color_encoding(&encoding) {
            return Role::Color;
        }
        if wanted_depth.is_none() && self.depth_channel.is_none() && is_depth_encoding(&encoding) {
            return Role::Depth;
        }
        let note = format!("{topic} ({encoding})");
        if self.frames_read > 0 {
            tracing::warn!("recording: image topic {note} is not played");
        }
        self.passed_over.push(note);
        Role::Ignored
    }

    /// Reads messages up to the next playable colour image and puts the frame together in
    /// `frame`; `None` at the end of the file.
    fn read_frame(
        &mut self,
        frame: &mut CapturedFrame,
    ) -> Result<Option<Assembled>, RecordingError> {
        loop {
            let mut data = std::mem::take(&mut self.message);
            let read = self.read_message(&mut data, frame);
            self.message = data;
            match read? {
                MessageOutcome::End => return Ok(None),
                MessageOutcome::Frame(assembled) => return Ok(Some(assembled)),
                MessageOutcome::More => {}
            }
        }
    }

    /// Reads one message into `data` and takes what it says.
    fn read_message(
        &mut self,
        data: &mut Vec<u8>,
        frame: &mut CapturedFrame,
    ) -> Result<MessageOutcome, RecordingError> {
        {
            let header = match self.held.take() {
                Some(header) => header,
                None => match self.stream.next_message(data)? {
                    Some(header) => header,
                    // The last colour image waited for its depth in vain.
                    None => {
                        return match self.pending_color.take() {
                            Some(pending) => self
                                .finish_frame(pending, frame)
                                .map(|assembled| {
                                    assembled.map_or(MessageOutcome::More, MessageOutcome::Frame)
                                })
                                .map_err(|reason| RecordingError::Message {
                                    topic: self.topic(self.color_channel),
                                    reason,
                                }),
                            None => Ok(MessageOutcome::End),
                        }
                    }
                },
            };
            let channel_id = header.channel_id;
            let data = &data[..];
            let role = self.role(channel_id, data);
            self.take_message(role, data, header, frame)
                .map_err(|reason| RecordingError::Message {
                    topic: self.topic(Some(channel_id)),
                    reason,
                })
        }
    }

    /// Takes one message of `role` into the frame being put together.
    fn take_message(
        &mut self,
        role: Role,
        data: &[u8],
        header: MessageHeader,
        frame: &mut CapturedFrame,
    ) -> Result<MessageOutcome, String> {
        {
            match role {
                Role::Ignored => {}
                Role::Metadata => {
                    let message = StringMessage::decode(data).map_err(|e| e.to_string())?;
                    self.metadata = Some(
                        frame_messages::metadata_from_message(&message)
                            .map_err(|e| e.to_string())?,
                    );
                }
                Role::CameraInfo => {
                    self.camera_info = Some(CameraInfo::decode(data).map_err(|e| e.to_string())?);
                }
                Role::Depth => {
                    let image = Image::decode(data).map_err(|e| e.to_string())?;
                    let scale = self
                        .metadata
                        .as_ref()
                        .and_then(|metadata| metadata.depth_scale_m)
                        .or(self.info.depth_scale_m);
                    let scale_m =
                        frame_messages::z16_from_image(&image, scale, &mut self.depth_z16)
                            .map_err(|e| e.to_string())?;
                    if self.info.depth_scale_m.is_none() {
                        self.info.depth_scale_m = Some(scale_m);
                    }
                    let stamp_ns = image.header.stamp.to_unix_ns();
                    self.depth_size = Some((image.width, image.height, stamp_ns));
                    if let Some(pending) = self.pending_color {
                        if pending.stamp_ns == stamp_ns {
                            self.pending_color = None;
                            if let Some(assembled) = self.finish_frame(pending, frame)? {
                                return Ok(MessageOutcome::Frame(assembled));
                            }
                        }
                    }
                }
                Role::Color => {
                    if let Some(pending) = self.pending_color.take() {
                        // Its depth never came: it plays with the newest depth, and this
                        // message is read again for the next frame.
                        self.held = Some(header);
                        if let Some(assembled) = self.finish_frame(pending, frame)? {
                            return Ok(MessageOutcome::Frame(assembled));
                        }
                        return Ok(MessageOutcome::More);
                    }
                    let image = Image::decode(data).map_err(|e| e.to_string())?;
                    if !self.take_color(&image, frame)? {
                        return Ok(MessageOutcome::More);
                    }
                    let stamp_ns = image.header.stamp.to_unix_ns();
                    let pending = PendingColor {
                        stamp_ns,
                        recorded_ns: if stamp_ns > 0 {
                            stamp_ns
                        } else {
                            header.log_time_ns
                        },
                    };
                    let depth_stamp = self.depth_size.map(|(_, _, stamp)| stamp);
                    if self.depth_channel.is_some() && depth_stamp != Some(stamp_ns) {
                        // Its depth may follow: wait for it.
                        self.pending_color = Some(pending);
                        return Ok(MessageOutcome::More);
                    }
                    if let Some(assembled) = self.finish_frame(pending, frame)? {
                        return Ok(MessageOutcome::Frame(assembled));
                    }
                }
            }
            Ok(MessageOutcome::More)
        }
    }

    /// Takes a colour image into `frame` unless it is skipped (another size than the first).
    fn take_color(&mut self, image: &Image<'_>, frame: &mut CapturedFrame) -> Result<bool, String> {
        let size = (image.width, image.height);
        match self.size {
            None => {
                let geometry = Geometry::rgbd(image.width, image.height);
                geometry.validate().map_err(|error| error.to_string())?;
                self.size = Some(size);
                self.geometry = geometry;
            }
            Some(first) if first != size => {
                self.frames_skipped += 1;
                if self.frames_skipped == 1 {
                    tracing::warn!(
                        "recording {}: frames of {}x{} after the first {}x{} are skipped (a replay keeps one size)",
                        self.config.path.display(),
                        image.width,
                        image.height,
                        first.0,
                        first.1
                    );
                }
                return Ok(false);
            }
            Some(_) => {}
        }
        frame_messages::rgb8_from_image(image, &mut frame.rgb).map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Completes the frame whose colour is in `frame` with the newest depth; `None` when
    /// there is no depth yet (the frame cannot be whole).
    fn finish_frame(
        &mut self,
        color: PendingColor,
        frame: &mut CapturedFrame,
    ) -> Result<Option<Assembled>, String> {
        frame.depth.clear();
        if self.depth_channel.is_some() {
            let size = self.size.unwrap_or_default();
            match self.depth_size {
                None => return Ok(None),
                Some((width, height, _)) if (width, height) != size => {
                    return Err(format!(
                        "depth images are {width}x{height}, colour images {}x{}: depth must be aligned to colour",
                        size.0, size.1
                    ));
                }
                Some(_) => {}
            }
            frame.depth.extend_from_slice(&self.depth_z16);
        }
        frame.contents_id = 0;
        frame.ground_truth = GroundTruth::default();
        self.frames_read += 1;
        let frame_number = match &self.metadata {
            Some(metadata) if metadata.capture_wall_ns == color.stamp_ns => metadata.frame_number,
            _ => self.frames_read,
        };
        Ok(Some(Assembled {
            recorded_ns: color.recorded_ns,
            frame_number,
        }))
    }

    /// Starts the file again (looping).
    fn rewind(&mut self) -> Result<(), RecordingError> {
        self.stream = McapStream::open(&self.config.path)?;
        self.depth_size = None;
        self.pending_color = None;
        self.held = None;
        Ok(())
    }

    fn capture_error(&self, error: RecordingError) -> SourceError {
        SourceError::Capture {
            kind: self.info.kind,
            reason: format!("recording {}: {error}", self.config.path.display()),
        }
    }

    /// The next frame in file order, looping when asked; `None` at the end.
    fn next_in_file(
        &mut self,
        frame: &mut CapturedFrame,
    ) -> Result<Option<Assembled>, SourceError> {
        if let Some((first, assembled)) = self.first.take() {
            *frame = first;
            return Ok(Some(assembled));
        }
        for attempt in 0..2 {
            match self.read_frame(frame) {
                Ok(Some(assembled)) => return Ok(Some(assembled)),
                Ok(None) => {}
                // A file cut short (a killed recorder): it ends where it is readable.
                Err(RecordingError::Truncated) => tracing::warn!(
                    "recording {} ends early (truncated) after {} frames",
                    self.config.path.display(),
                    self.frames_read
                ),
                Err(error) => return Err(self.capture_error(error)),
            }
            if !self.config.loop_playback || attempt == 1 {
                return Ok(None);
            }
            self.rewind().map_err(|error| self.capture_error(error))?;
        }
        Ok(None)
    }
}

impl Source for McapSource {
    fn geometry(&self) -> Geometry {
        self.geometry
    }

    fn info(&self) -> SourceInfo {
        self.info.clone()
    }

    fn next_frame(&mut self, frame: &mut CapturedFrame) -> Result<(), SourceError> {
        let Some(assembled) = self.next_in_file(frame)? else {
            return Err(SourceError::EndOfStream);
        };
        self.pacer.wait_for(assembled.recorded_ns);
        frame.frame_number = assembled.frame_number;
        frame.capture_wall_ns = shmproto::wall_now_ns();
        frame.capture_mono_ns = shmproto::monotonic_now_ns();
        Ok(())
    }
}
