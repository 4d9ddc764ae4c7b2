//! The console's own words, Vietnamese and English side by side: a word missing in one
//! language does not compile.

use super::words::Lang;

macro_rules! ui_words {
    ($($name:ident: $vi:expr, $en:expr;)*) => {
        /// Every text of the console's pages in one language.
        pub struct Ui { $(pub $name: &'static str,)* }
        pub static VI: Ui = Ui { $($name: $vi,)* };
        pub static EN: Ui = Ui { $($name: $en,)* };
    };
}

pub fn ui(lang: Lang) -> &'static Ui {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

ui_words! {
    html_lang: "vi", "en";
    app: "Chung Tay — Hội LHPN tỉnh", "Chung Tay — Provincial Women's Union";
    skip: "Bỏ qua, tới nội dung", "Skip to content";
    nav_referrals: "Giới thiệu", "Referrals";
    nav_devices: "Thiết bị", "Devices";
    nav_accounts: "Tài khoản", "Accounts";
    nav_tokens: "Mã API", "API tokens";
    nav_stats: "Thống kê", "Statistics";
    nav_audit: "Nhật ký cán bộ", "Staff audit";
    nav_me: "Tài khoản của tôi", "My account";
    logout: "Đăng xuất", "Log out";
    logout_all: "Đăng xuất khỏi mọi máy", "Log out everywhere";
    role_officer: "Cán bộ tiếp nhận", "Officer";
    role_admin: "Quản trị", "Admin";
    role_viewer: "Chỉ xem thống kê", "Viewer";
    role_national: "Xem thống kê toàn quốc", "National viewer";
    nav_national: "Toàn quốc", "National";
    login_title: "Đăng nhập", "Log in";
    username: "Tên đăng nhập", "Username";
    password: "Mật khẩu", "Password";
    password2: "Nhập lại mật khẩu", "Password again";
    current_password: "Mật khẩu hiện tại", "Current password";
    new_password: "Mật khẩu mới", "New password";
    login_button: "Đăng nhập", "Log in";
    bad_login: "Sai tên đăng nhập hoặc mật khẩu. Sau 5 lần sai liên tiếp, tài khoản tạm khoá 15 phút.", "Wrong username or password. After 5 wrong tries in a row the account is locked for 15 minutes.";
    busy: "Máy chủ đang bận. Hãy thử lại sau ít giây.", "The server is busy. Try again in a few seconds.";
    too_many: "Quá nhiều lần thử từ máy này. Hãy đợi một phút.", "Too many attempts from this computer. Wait a minute.";
    first_time: "Lần đầu? Đặt mật khẩu bằng mã thiết lập", "First time? Set your password with your setup code";
    setup_title: "Đặt mật khẩu", "Set your password";
    setup_code: "Mã thiết lập (quản trị viên đưa)", "Setup code (from your admin)";
    setup_button: "Đặt mật khẩu", "Set password";
    setup_done: "Đã đặt mật khẩu. Hãy đăng nhập.", "Password set. Please log in.";
    bad_setup: "Sai hoặc hết hạn mã thiết lập.", "Wrong or expired setup code.";
    weak_password: "Mật khẩu cần từ 10 đến 128 ký tự.", "The password needs 10 to 128 characters.";
    passwords_differ: "Hai mật khẩu không giống nhau.", "The two passwords differ.";
    password_changed: "Đã đổi mật khẩu.", "Password changed.";
    change_password: "Đổi mật khẩu", "Change password";
    refused_title: "Yêu cầu bị từ chối", "Request refused";
    refused_role: "Vai trò của bạn không được mở trang này.", "Your role may not open this page.";
    refused_csrf: "Biểu mẫu không hợp lệ hoặc đã cũ. Hãy tải lại trang và thử lại.", "The form is invalid or out of date. Reload the page and try again.";
    not_found: "Không tìm thấy.", "Not found.";
    error_title: "Có lỗi", "Something went wrong";
    error_text: "Máy chủ gặp lỗi. Không có dữ liệu nào bị mất; hãy thử lại.", "The server failed. No data was lost; please try again.";
    back: "Quay lại", "Back";
    inbox_title: "Giới thiệu đã nhận", "Referrals";
    filters: "Lọc", "Filters";
    any: "Tất cả", "Any";
    state: "Trạng thái", "State";
    service: "Dịch vụ", "Service";
    commune: "Xã", "Commune";
    club: "Câu lạc bộ / thiết bị", "Club / device";
    age: "Tuổi", "Age";
    age_child: "Dưới 16", "Under 16";
    age_youth: "16–24", "16–24";
    age_adult: "25 trở lên", "25 and over";
    overdue: "Quá hạn", "Overdue";
    overdue_only: "Chỉ giới thiệu quá hạn", "Overdue only";
    search: "Tìm (tên, xã, mã)", "Search (name, commune, id)";
    filter_button: "Lọc", "Filter";
    received_at: "Nhận lúc", "Received";
    days_in_state: "Số ngày ở trạng thái", "Days in state";
    urgency: "Mức khẩn", "Urgency";
    open: "Mở", "Open";
    none_found: "Không có giới thiệu nào khớp.", "No referral matches.";
    shown_of: "giới thiệu", "referrals";
    unreadable: "giới thiệu không mở được (đã ghi vào nhật ký máy chủ)", "referrals could not be opened (see the server log)";
    referral_title: "Giới thiệu", "Referral";
    referral_id: "Mã giới thiệu", "Referral id";
    device: "Thiết bị", "Device";
    consented: "Thông tin được đồng ý chia sẻ", "Fields shared with consent";
    consent_given: "Đồng ý ngày", "Consent given on";
    consent_purposes: "Mục đích", "Purposes";
    note_from_club: "Ghi chú của câu lạc bộ", "Note from the club";
    history: "Lịch sử", "History";
    by: "bởi", "by";
    phone_device: "điện thoại", "the phone";
    actions: "Xử lý", "Actions";
    note: "Ghi chú gửi về câu lạc bộ", "Note sent back to the club";
    note_reason: "Lý do (bắt buộc)", "Reason (required)";
    note_outcome: "Kết quả (bắt buộc)", "Outcome (required)";
    act_accepted: "Tiếp nhận", "Accept";
    act_declined: "Từ chối", "Decline";
    act_in_progress: "Đang hỗ trợ", "Mark in progress";
    act_completed: "Hoàn thành", "Complete";
    no_actions: "Giới thiệu đã kết thúc; không còn bước nào.", "The referral is closed; no further step.";
    note_required: "Cần ghi lý do khi từ chối, kết quả khi hoàn thành.", "Declining needs a reason, completing an outcome.";
    note_too_long: "Ghi chú quá dài.", "The note is too long.";
    not_allowed: "Trạng thái hiện tại không cho bước này (có thể người khác vừa xử lý).", "The current state does not allow this step (someone may have just acted on it).";
    transition_done: "Đã ghi và ký; điện thoại sẽ nhận ở lần đồng bộ tới.", "Recorded and signed; the phone gets it at its next sync.";
    devices_title: "Thiết bị đã đăng ký", "Enrolled devices";
    label: "Tên (câu lạc bộ, người phụ trách)", "Label (club, leader)";
    enrolled: "Đăng ký", "Enrolled";
    last_contact: "Liên lạc gần nhất", "Last contact";
    last_checkpoint: "Điểm kiểm tra gần nhất", "Last checkpoint";
    alert: "Cảnh báo", "Alert";
    status: "Tình trạng", "Status";
    active: "Đang hoạt động", "Active";
    revoked: "Đã thu hồi", "Revoked";
    never: "chưa", "never";
    revoke: "Thu hồi", "Revoke";
    reason: "Lý do", "Reason";
    save: "Lưu", "Save";
    flagged: "Cảnh báo: dữ liệu bị quay lui hoặc rẽ nhánh", "Alert: rollback or fork";
    issue_code: "Cấp mã đăng ký", "Issue an enrollment code";
    issue_button: "Cấp mã", "Issue code";
    code_title: "Mã đăng ký thiết bị", "Device enrollment code";
    code_text: "Mã dùng một lần", "One-time code";
    code_expires: "Hết hạn", "Expires";
    fingerprint: "Dấu vân tay khoá của tỉnh", "Province key fingerprint";
    code_hint: "In trang này và trao tận tay. Sau khi đăng ký, điện thoại hiện dấu vân tay: hai bên phải giống nhau. Mã chỉ hiện một lần.", "Print this page and hand it over in person. After enrolling, the phone shows the fingerprint: both must match. The code is shown only once.";
    print: "In", "Print";
    accounts_title: "Tài khoản cán bộ", "Staff accounts";
    display_name: "Họ tên", "Full name";
    role: "Vai trò", "Role";
    created: "Tạo lúc", "Created";
    disabled: "Đã khoá", "Disabled";
    create_account: "Tạo tài khoản", "Create account";
    create_button: "Tạo", "Create";
    setup_code_title: "Mã thiết lập", "Setup code";
    setup_code_hint: "Trao mã này cho người dùng (hiệu lực 7 ngày, dùng một lần). Người đó đặt mật khẩu tại trang “Đặt mật khẩu”.", "Give this code to its owner (valid 7 days, once). She sets her password on the “Set your password” page.";
    reset: "Cấp mã thiết lập mới", "New setup code";
    disable: "Khoá", "Disable";
    enable: "Mở khoá", "Enable";
    end_sessions: "Đăng xuất mọi phiên", "End all sessions";
    bad_username: "Tên đăng nhập 3–32 ký tự: a-z, 0-9, dấu chấm, gạch.", "Username: 3 to 32 characters, a-z, 0-9, dot, dash, underscore.";
    bad_display_name: "Họ tên 1–64 ký tự.", "Full name: 1 to 64 characters.";
    username_taken: "Tên đăng nhập đã có.", "This username is taken.";
    tokens_title: "Mã API cho phần mềm", "API tokens for scripts";
    token_id: "Mã số", "Id";
    expires: "Hết hạn", "Expires";
    days: "Số ngày hiệu lực", "Days valid";
    create_token: "Tạo mã API", "Create token";
    scope: "Quyền", "Scope";
    scope_read: "Chỉ đọc giới thiệu", "Read referrals only";
    scope_write: "Đọc và xử lý giới thiệu", "Read and move referrals";
    token_shown_once: "Mã chỉ hiện một lần. Lưu vào nơi an toàn.", "The token is shown only once. Keep it somewhere safe.";
    stats_title: "Thống kê giới thiệu", "Referral statistics";
    national_title: "Thống kê toàn quốc", "National statistics";
    year: "Năm", "Year";
    show: "Xem", "Show";
    download_csv: "Tải CSV", "Download CSV";
    download_xlsx: "Tải XLSX", "Download XLSX";
    small_cells: "“<5”: từ 1 đến 4; “x”: ẩn để không suy ra được ô nhỏ.", "“<5”: 1 to 4; “x”: hidden so that a small cell cannot be worked out.";
    audit_title: "Nhật ký cán bộ", "Staff audit";
    at: "Lúc", "At";
    who: "Ai", "Who";
    action: "Việc", "Action";
    target: "Đối tượng", "Target";
    detail: "Chi tiết", "Detail";
    older: "Cũ hơn", "Older";
    me_title: "Tài khoản của tôi", "My account";
    totp_label: "Mã xác thực (nếu đã bật xác thực hai bước)", "Authenticator code (if two-step login is on)";
    totp_title: "Xác thực hai bước", "Two-step login";
    totp_is_on: "Đang bật: mỗi lần đăng nhập cần mã từ ứng dụng xác thực.", "On: every login needs a code from the authenticator app.";
    totp_is_off: "Đang tắt. Bật để mật khẩu bị lộ cũng không đủ để đăng nhập.", "Off. Turn it on so that a leaked password alone cannot log in.";
    totp_start: "Bật xác thực hai bước", "Turn on two-step login";
    totp_scan: "Quét mã QR bằng ứng dụng xác thực (hoặc nhập khoá bên dưới), rồi nhập mã 6 số nó hiện.", "Scan the QR code with an authenticator app (or type the key below), then enter the 6-digit code it shows.";
    totp_code: "Mã 6 số", "6-digit code";
    totp_confirm: "Xác nhận và bật", "Confirm and turn on";
    totp_off: "Tắt xác thực hai bước", "Turn off two-step login";
    totp_bad: "Sai mã xác thực. Kiểm tra giờ trên điện thoại và thử lại.", "Wrong code. Check the phone's clock and try again.";
    totp_enabled: "Đã bật xác thực hai bước.", "Two-step login is on.";
    totp_disabled: "Đã tắt xác thực hai bước.", "Two-step login is off.";
    sessions_ended: "Đã đăng xuất khỏi mọi máy.", "Logged out everywhere.";
}
