#include "sfu/speaker_detector.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace atrium::sfu {
namespace {

using namespace std::chrono_literals;

const Clock::time_point kT0{std::chrono::seconds(3600)};

// 20 ms packets for `duration` at `dbov`.
void talk(SpeakerDetector& detector, uint64_t who, uint8_t dbov, Clock::time_point from,
          std::chrono::milliseconds duration) {
  for (auto t = 0ms; t < duration; t += 20ms) {
    detector.add_sample(who, AudioLevel{dbov, true}, from + t);
  }
}

TEST(SpeakerDetector, ParsesTheExtensionByte) {
  auto level = parse_audio_level(std::vector<uint8_t>{0x9e});
  ASSERT_TRUE(level);
  EXPECT_TRUE(level->voice);
  EXPECT_EQ(level->level_dbov, 30);
  EXPECT_FALSE(parse_audio_level({}));
}

TEST(SpeakerDetector, OrdersLoudestFirstAndReportsChanges) {
  SpeakerDetector detector;
  talk(detector, 1, 40, kT0, 1500ms);  // quieter
  talk(detector, 2, 10, kT0, 1500ms);  // loud
  talk(detector, 3, 90, kT0, 1500ms);  // background noise only
  SpeakerDetector::Update update;
  EXPECT_TRUE(detector.update(kT0 + 1500ms, update));
  ASSERT_EQ(update.active.size(), 2u);
  EXPECT_EQ(update.active[0].participant, 2u);
  EXPECT_EQ(update.active[1].participant, 1u);
  EXPECT_GT(update.active[0].level, update.active[1].level);
  EXPECT_LE(update.active[0].level, 1.0f);
  EXPECT_TRUE(update.active[0].active);
  EXPECT_EQ(update.changed.size(), 2u);
  // Nothing new: no change to report.
  talk(detector, 1, 40, kT0 + 1500ms, 200ms);
  talk(detector, 2, 10, kT0 + 1500ms, 200ms);
  EXPECT_FALSE(detector.update(kT0 + 1700ms, update));
  EXPECT_EQ(update.active.size(), 2u);
}

TEST(SpeakerDetector, SilenceEndsActivityAfterTheWindow) {
  SpeakerDetector detector;
  talk(detector, 7, 20, kT0, 1000ms);
  SpeakerDetector::Update update;
  EXPECT_TRUE(detector.update(kT0 + 1000ms, update));
  ASSERT_EQ(update.active.size(), 1u);
  // DTX: a quiet packet now and then.
  detector.add_sample(7, AudioLevel{127, false}, kT0 + 1400ms);
  EXPECT_FALSE(detector.update(kT0 + 1500ms, update));  // still in the window
  EXPECT_TRUE(detector.update(kT0 + 3000ms, update));
  EXPECT_TRUE(update.active.empty());
  ASSERT_EQ(update.changed.size(), 1u);
  EXPECT_EQ(update.changed[0], (SpeakerInfo{7, 0, false}));
}

TEST(SpeakerDetector, ShortBlipIsNotASpeaker) {
  SpeakerDetector detector;
  talk(detector, 4, 5, kT0, 200ms);  // 10 loud packets < 15 needed
  SpeakerDetector::Update update;
  EXPECT_FALSE(detector.update(kT0 + 200ms, update));
  EXPECT_TRUE(update.active.empty());
}

TEST(SpeakerDetector, RemovingAnActiveSpeakerReportsIt) {
  SpeakerDetector detector;
  talk(detector, 9, 20, kT0, 1000ms);
  SpeakerDetector::Update update;
  ASSERT_TRUE(detector.update(kT0 + 1000ms, update));
  detector.remove(9);
  EXPECT_TRUE(detector.update(kT0 + 1100ms, update));
  ASSERT_EQ(update.changed.size(), 1u);
  EXPECT_FALSE(update.changed[0].active);
  EXPECT_TRUE(update.active.empty());
}

TEST(SpeakerDetector, LevelChangeIsReported) {
  SpeakerDetector detector;
  talk(detector, 1, 30, kT0, 1500ms);
  SpeakerDetector::Update update;
  ASSERT_TRUE(detector.update(kT0 + 1500ms, update));
  const float before = update.active[0].level;
  talk(detector, 1, 0, kT0 + 1500ms, 1500ms);  // much louder now
  ASSERT_TRUE(detector.update(kT0 + 3000ms, update));
  ASSERT_EQ(update.changed.size(), 1u);
  EXPECT_GT(update.changed[0].level, before);
}

}  // namespace
}  // namespace atrium::sfu
